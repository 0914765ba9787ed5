//! Times threading + latency over a 100k-message store: cold (rebuild the threader from the
//! store, load the account's conversations and waits) and per new message (store and thread it,
//! recompute that candidate's waits). Issue 5; targets < 1 s cold and < 1 ms per message.
//!
//! `cargo run --release --example conversations_bench [N]` (`scripts/bench-conversations.sh`).
//! Input: synthetic messages written directly into a store file through `mail::parse` and
//! `ingest::store_batch`, as the sync stores them, threaded as the sync threads them (no IMAP
//! server involved). 5 000 candidates, four conversations each of five alternating messages
//! (owner, candidate, ...); every tenth reply is header-less (subject rule), every fiftieth
//! candidate message an auto-reply.

use std::time::{Duration, Instant};

use candor::conversations::{self, StoredMessage};
use candor::imap::Threads;
use candor::report::facts;
use candor::store::Store;
use candor::store::ingest::{self, AccountId, Fetched};

const CANDIDATES: usize = 5_000;
const PER_CONVERSATION: usize = 5;
const BATCH: usize = 1_000;
const BASE: i64 = 1_700_000_000;

fn candidate_of(conversation: usize) -> String {
    format!("candidate{}@mail.example", conversation % CANDIDATES)
}

/// The `position`-th message of `conversation`, as raw RFC 5322 bytes, with its time.
fn raw_message(conversation: usize, position: usize) -> (Vec<u8>, jiff::Timestamp) {
    let id = |p: usize| format!("<{conversation}.{p}@bench.example>");
    let time =
        jiff::Timestamp::from_second(BASE + conversation as i64 * 1_500 + position as i64 * 7_200)
            .expect("bench time in range");
    let date = jiff::fmt::rfc2822::to_string(&time.to_zoned_datetime(jiff::tz::TimeZone::UTC))
        .expect("bench date formats");
    let candidate = candidate_of(conversation);
    let owner_writes = position.is_multiple_of(2);
    let (from, to) = if owner_writes {
        ("Jane Doe <jane@agency.example>".to_owned(), candidate)
    } else {
        (
            format!("Candidate <{candidate}>"),
            "jane@agency.example".to_owned(),
        )
    };
    let mut headers = String::new();
    let headerless = position > 0 && (conversation * PER_CONVERSATION + position) % 10 == 3;
    if position > 0 && !headerless {
        let refs: Vec<String> = (0..position).map(id).collect();
        headers.push_str(&format!(
            "In-Reply-To: {}\r\nReferences: {}\r\n",
            id(position - 1),
            refs.join(" ")
        ));
    }
    if !owner_writes && (conversation * PER_CONVERSATION + position) % 50 == 1 {
        headers.push_str("Auto-Submitted: auto-replied\r\n");
    }
    let subject = if position == 0 {
        format!("Role {conversation}")
    } else {
        format!("Re: Role {conversation}")
    };
    let raw = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {}\r\nDate: {date}\r\n{headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, a few words about the role.\r\n",
        id(position)
    );
    (raw.into_bytes(), time)
}

fn fetched(uid: u32, conversation: usize, position: usize) -> anyhow::Result<Fetched> {
    let (raw, time) = raw_message(conversation, position);
    let message = candor::mail::parse(&raw).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(Fetched::parsed(uid, time, message))
}

fn account(dir: &std::path::Path) -> anyhow::Result<candor::config::Account> {
    let path = dir.join("bench.toml");
    let text = format!(
        r#"[storage]
path = "{}"

[[account]]
name = "bench"
owner_name = "Jane Doe"
owner_addresses = ["jane@agency.example"]
internal_domains = ["agency.example"]
timezone = "Europe/Berlin"
mode = "dry-run"

[account.imap]
host = "127.0.0.1"
port = 993
tls = "implicit"
username = "jane"
password = "unused"

[account.smtp]
host = "127.0.0.1"
port = 465
tls = "implicit"
username = "jane"
password = "unused"
"#,
        dir.join("bench.db").display()
    );
    let config = candor::config::parse_str(&text, &path, true)
        .map_err(|e| anyhow::anyhow!("bench config: {e}"))?;
    config
        .accounts
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("bench config has no account"))
}

/// Stores one batch and threads its new messages in one transaction, as the sync does.
fn store(
    store: &Store,
    threads: &candor::imap::SharedThreads,
    account: AccountId,
    folder: ingest::FolderId,
    batch: Vec<Fetched>,
) -> anyhow::Result<(Vec<i64>, Duration)> {
    let next_uid = batch.last().map_or(1, |f| f.uid() + 1);
    let threads = threads.clone();
    store.call_blocking(move |tx| {
        let now = jiff::Timestamp::now();
        let mut threads = threads
            .lock()
            .map_err(|_| anyhow::anyhow!("threader poisoned"))?;
        // Threading alone: `Threads::choose` for each new message (its row is then written
        // once, thread included).
        let mut threading = Duration::ZERO;
        let outcome = ingest::store_batch(
            tx,
            account,
            folder,
            1,
            &batch,
            next_uid,
            now,
            &mut ingest::KnownKeys::unknown(),
            1,
            &mut |message, internal_date, _, row| {
                let start = Instant::now();
                let choice = threads.choose(message, internal_date, row);
                threading += start.elapsed();
                choice
            },
        )?;
        Ok((
            outcome.new_rows.iter().map(|(_, row)| row.0).collect(),
            threading,
        ))
    })
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn verdict(took: Duration, target: Duration) -> &'static str {
    if took < target { "PASS" } else { "MISS" }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let total: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(100_000);
    let conversations_n = total / PER_CONVERSATION;
    let dir = tempfile::tempdir()?;
    let account = account(dir.path())?;
    let db = Store::open(&dir.path().join("bench.db"))?;
    let (account_id, folder) = db.call_blocking(|tx| {
        let id = ingest::ensure_account(tx, "bench", jiff::Timestamp::now())?;
        let folder = ingest::ensure_folder(tx, id, "INBOX", "inbox")?;
        Ok((id, folder.id))
    })?;
    let identity = conversations::Identity::for_account(&account);

    // Fill the store: time order (conversations interleave), as a mailbox would arrive.
    let start = Instant::now();
    let mut order: Vec<(usize, usize)> = (0..conversations_n)
        .flat_map(|c| (0..PER_CONVERSATION).map(move |p| (c, p)))
        .collect();
    order.sort_by_key(|&(c, p)| c as i64 * 1_500 + p as i64 * 7_200);
    let filler = Threads::load(&db, account_id, identity.clone()).await?;
    let mut uid = 0u32;
    for chunk in order.chunks(BATCH) {
        let batch = chunk
            .iter()
            .map(|&(c, p)| {
                uid += 1;
                fetched(uid, c, p)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        store(&db, &filler, account_id, folder, batch)?;
    }
    drop(filler);
    println!(
        "filled a store with {total} messages in {:.1?}",
        start.elapsed()
    );

    // (a) Cold: rebuild the threader from the store, then conversations and waits. First the
    // SQL alone, to tell the query from the threading in the figures.
    let start = Instant::now();
    let rows = db.call_blocking(move |tx| ingest::thread_rows(tx, account_id))?;
    let rows_took = start.elapsed();
    drop(rows);
    let start = Instant::now();
    let threads = Threads::load(&db, account_id, identity.clone()).await?;
    let threader_took = start.elapsed();
    let start = Instant::now();
    let loaded = facts::load(&db, &account)?;
    let facts_took = start.elapsed();
    let cold = threader_took + facts_took;
    let waits: usize = loaded.conversations.iter().map(|c| c.waits.len()).sum();
    println!(
        "{} candidates, {} threads, {waits} waits",
        loaded.conversations.len(),
        loaded.threads
    );

    // (b) Per new message: one more reply in an existing conversation, stored and threaded in
    // its own transaction, then that candidate's conversation rebuilt from the facts in memory.
    let samples = 1_000.min(conversations_n);
    let mut per_store = Vec::with_capacity(samples);
    let mut per_waits = Vec::with_capacity(samples);
    let mut per_thread = Vec::with_capacity(samples);
    for n in 0..samples {
        let conversation = (n * 7_919) % conversations_n;
        uid += 1;
        let batch = vec![fetched(uid, conversation, PER_CONVERSATION)?];
        let Fetched::Parsed { message, .. } = &batch[0] else {
            anyhow::bail!("bench message did not parse");
        };
        let new = StoredMessage {
            key: 0,
            thread: 0,
            time: candor::mail::message_time(
                message.date,
                message.date.unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            ),
            message_id: message.message_id.clone(),
            in_reply_to: message.in_reply_to.first().cloned(),
            from: candidate_of(conversation),
            from_name: String::new(),
            to: vec!["jane@agency.example".to_owned()],
            cc: Vec::new(),
            subject: message.subject.clone().unwrap_or_default(),
            class: message.class,
            body: String::new(),
            ooo_until: None,
            hard_bounce: false,
            bounced: Vec::new(),
            own_kind: None,
            recipient_names: Vec::new(),
            reply_to: Vec::new(),
        };
        let start = Instant::now();
        let (keys, threading) = store(&db, &threads, account_id, folder, batch)?;
        per_store.push(start.elapsed());
        per_thread.push(threading);

        let start = Instant::now();
        let address = candidate_of(conversation);
        let index = loaded
            .find(&address)
            .ok_or_else(|| anyhow::anyhow!("no conversation for {address}"))?;
        let mut subset: Vec<StoredMessage> = loaded.conversations[index]
            .messages
            .iter()
            .map(|&i| loaded.messages[i].clone())
            .collect();
        let parent_thread = subset.last().map_or(0, |m| m.thread);
        subset.push(StoredMessage {
            key: keys.first().copied().unwrap_or(0),
            thread: parent_thread,
            ..new
        });
        let rebuilt = conversations::conversations(&subset, &loaded.identity);
        let found = rebuilt.iter().find(|c| c.address == address);
        per_waits.push(start.elapsed());
        std::hint::black_box(found.map(|c| c.waits.len()));
    }
    // The issue's measure: threading one more message plus that candidate's waits.
    let mut per_message: Vec<Duration> = per_thread
        .iter()
        .zip(&per_waits)
        .map(|(a, b)| *a + *b)
        .collect();
    for v in [
        &mut per_store,
        &mut per_thread,
        &mut per_waits,
        &mut per_message,
    ] {
        v.sort();
    }
    let mean = |v: &[Duration]| v.iter().sum::<Duration>() / v.len().max(1) as u32;
    let line = |what: &str, v: &[Duration]| {
        println!(
            "| per message: {what}, mean / p99 | {:.1?} / {:.1?} | | |",
            mean(v),
            percentile(v, 99)
        );
    };
    println!();
    println!("| measure | figure | target | verdict |");
    println!("|---|---|---|---|");
    println!(
        "| cold: threader rebuilt from the store ({total} messages) | {threader_took:.1?} | | |"
    );
    println!("| cold: (its SQL alone, `ingest::thread_rows`, timed apart) | {rows_took:.1?} | | |");
    println!("| cold: conversations + waits (`facts::load`) | {facts_took:.1?} | | |");
    println!(
        "| cold: total | {cold:.1?} | < 1 s | {} |",
        verdict(cold, Duration::from_secs(1))
    );
    line("thread it (`Threads::choose`)", &per_thread);
    line("that candidate's waits", &per_waits);
    println!(
        "| per message: threading + waits, mean ({samples} messages) | {:.1?} | < 1 ms | {} |",
        mean(&per_message),
        verdict(mean(&per_message), Duration::from_millis(1))
    );
    line(
        "for information: store + thread + commit, as the sync does",
        &per_store,
    );
    Ok(())
}
