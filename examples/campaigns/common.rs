//! What the crash and outage campaigns share: an owner with candidates whose follow-ups fall due
//! during the campaign, the `candor` daemon run as a child process, a steady stream of incoming
//! mail, and the audit that compares what the servers hold with what candor stored and sent.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use candor::store::outbox::OutboxRow;
use candor::testkit::{ImapTls, MailStack, SeedMessage, StackUser};
use jiff::{SignedDuration, Timestamp};
use rand::Rng as _;

/// Business days before a follow-up, as configured below: every day is a business day.
const FOLLOW_UP_AFTER_DAYS: i64 = 5;
/// Postfix hands a message to Dovecot in tens of milliseconds, but mail deferred while Dovecot
/// was down waits for a queue run: generous (the 20-restart outage run timed out at 60 s).
const DELIVERY: Duration = Duration::from_secs(300);

/// One owner (a candor account and its own store) and the candidates it asked a question.
pub struct Owner {
    pub name: String,
    pub user: StackUser,
    pub candidates: Vec<StackUser>,
    /// When each candidate's first follow-up falls due (same order as `candidates`).
    pub due: Vec<Timestamp>,
    pub config: PathBuf,
    pub db: PathBuf,
    pub bin: PathBuf,
    /// Holds the config directory until the campaign ends.
    _dir: tempfile::TempDir,
}

/// Where the owner's store lives and how its follow-ups are spread over time.
pub struct OwnerPlan<'a> {
    pub name: &'a str,
    pub candidates: usize,
    /// A quarter of the follow-ups are due at once, the rest over this span from now.
    pub spread: Duration,
    /// Directory of the store; a fresh temp dir when `None`.
    pub store_dir: Option<&'a Path>,
}

/// A plain RFC 5322 message.
pub fn message(
    from: &str,
    to: &str,
    subject: &str,
    id: &str,
    date: Timestamp,
    extra: &str,
) -> Vec<u8> {
    let date = jiff::fmt::rfc2822::to_string(&date.to_zoned_datetime(jiff::tz::TimeZone::UTC))
        .unwrap_or_default();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {date}\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, this is {id}.\r\n"
    )
    .into_bytes()
}

pub fn question_id(candidate: &StackUser) -> String {
    format!("q-{}", candidate.address)
}

impl Owner {
    /// Creates the owner and candidates on `stack`, seeds the questions in the owner's Sent and
    /// writes a config in `auto` mode (every day a business day, sending all day, no digest).
    pub fn create(stack: &MailStack, bin: &Path, plan: &OwnerPlan) -> anyhow::Result<Owner> {
        let user = stack.add_user(&format!("{}@agency.example", plan.name))?;
        let now = Timestamp::now();
        let n = plan.candidates.max(1);
        let early = n / 4;
        let mut candidates = Vec::new();
        let mut due = Vec::new();
        let mut questions = Vec::new();
        for i in 0..n {
            let c = stack.add_user(&format!("{}-c{i:02}@candidates.example", plan.name))?;
            // The first quarter is due already; the others one after another over `spread`.
            let offset = if i < early {
                -60
            } else {
                let step = plan.spread.as_secs() as i64 * (i - early) as i64 / (n - early) as i64;
                step.max(1)
            };
            let due_at = Timestamp::from_second(now.as_second() + offset)?;
            let asked = due_at - SignedDuration::from_hours(24 * FOLLOW_UP_AFTER_DAYS);
            questions.push(SeedMessage {
                raw: message(
                    &format!("{} <{}>", plan.name, user.address),
                    &c.address,
                    "Backend role",
                    &question_id(&c),
                    asked,
                    "",
                ),
                internal_date: asked,
                flags: "S".to_owned(),
            });
            candidates.push(c);
            due.push(due_at);
        }
        stack.seed(&user, "Sent", &questions)?;
        let dir = tempfile::tempdir()?;
        let store_dir = plan.store_dir.unwrap_or(dir.path());
        let db = store_dir.join("candor.db");
        let config = dir.path().join("candor.toml");
        let password = dir.path().join("password");
        write_private(&password, user.password.as_bytes())?;
        let text = format!(
            r#"[storage]
path = "{db}"

[logging]
level = "info"

[[account]]
name = "{name}"
owner_name = "{name}"
owner_addresses = ["{address}"]
internal_domains = ["agency.example"]
timezone = "Europe/Berlin"
mode = "auto"

[account.imap]
host = "127.0.0.1"
port = {imaps}
tls = "implicit"
username = "{address}"
password_file = "{password}"
ca_file = "{ca}"

[account.smtp]
host = "127.0.0.1"
port = {smtp}
tls = "starttls"
username = "{address}"
password_file = "{password}"
ca_file = "{ca}"

[account.scope]
mode = "all"

[account.policy]
act_on_existing = true
follow_up_after_days = {FOLLOW_UP_AFTER_DAYS}

[account.schedule]
business_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
send_hours = "00:00-24:00"
daily_cap = 1000

[account.digest]
schedule = "off"
"#,
            db = db.display(),
            name = plan.name,
            address = user.address,
            imaps = stack.imaps_port(),
            smtp = stack.smtp_port(),
            password = password.display(),
            ca = stack.ca_file().display(),
        );
        write_private(&config, text.as_bytes())?;
        Ok(Owner {
            name: plan.name.to_owned(),
            user,
            candidates,
            due,
            config,
            db,
            bin: bin.to_path_buf(),
            _dir: dir,
        })
    }

    /// `candor run` in the background, its stderr appended to `log`.
    pub fn spawn_daemon(&self, failpoint: Option<&str>, log: &Path) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut command = Command::new(&self.bin);
        command
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env_remove("RUST_LOG")
            .env_remove("CANDOR_FAILPOINT")
            // The campaigns send to many candidates at once: without the 30 to 90 s between
            // the account's emails (SPEC §7.5), which a test build lets them skip.
            .env("CANDOR_SEND_SPACING_S", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(name) = failpoint {
            command.env("CANDOR_FAILPOINT", name);
        }
        command.spawn().context("starting candor run")
    }

    /// `candor ARGS... --json`, parsed; an error says what candor printed.
    pub fn json(&self, args: &[&str]) -> anyhow::Result<serde_json::Value> {
        let out = Command::new(&self.bin)
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env_remove("RUST_LOG")
            .output()?;
        if !out.status.success() {
            bail!(
                "candor {args:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Every outbox row, read through the library (beside the daemon: WAL allows it).
    pub fn rows(&self) -> anyhow::Result<Vec<OutboxRow>> {
        let store = candor::store::Store::open(&self.db)?;
        store.call_blocking(|tx| candor::store::outbox::rows(tx, None))
    }

    /// Messages stored per folder (`candor stats --json`), and the account's last error.
    pub fn stored(&self) -> anyhow::Result<(BTreeMap<String, u64>, Option<String>)> {
        let json = self.json(&["stats", "--json", "--since", "2000-01-01"])?;
        let account = json["accounts"]
            .as_array()
            .and_then(|a| a.iter().find(|a| a["name"] == self.name.as_str()))
            .context("no account in stats --json")?;
        let folders = account["folders"]
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        let error = account["last_error"].as_str().map(str::to_owned);
        Ok((folders, error))
    }
}

impl Owner {
    /// Locations present in `folder` under its current UIDVALIDITY, plus messages recorded as
    /// skipped there: what the server's EXISTS must equal.
    pub fn located(&self, folder: &str) -> anyhow::Result<u64> {
        let conn = rusqlite::Connection::open(&self.db)?;
        let count: i64 = conn.query_row(
            "SELECT
               (SELECT count(*) FROM locations l JOIN folders f ON f.id = l.folder_id
                  JOIN accounts a ON a.id = f.account_id
                 WHERE a.name = ?1 AND f.name = ?2 AND l.present = 1 AND l.uidvalidity = f.uidvalidity)
             + (SELECT count(*) FROM skipped s JOIN folders f ON f.id = s.folder_id
                  JOIN accounts a ON a.id = f.account_id
                 WHERE a.name = ?1 AND f.name = ?2 AND s.uidvalidity = f.uidvalidity)",
            rusqlite::params![self.name, folder],
            |r| r.get(0),
        )?;
        Ok(count as u64)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, bytes)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// How many messages `folder` of `user` holds (EXAMINE's EXISTS).
pub async fn delivered(stack: &MailStack, user: &StackUser, folder: &str) -> anyhow::Result<u64> {
    let mut session = stack.imap_session(user, ImapTls::Implicit).await?;
    let exists = session.examine(folder).await?.exists;
    let _ = session.logout().await;
    Ok(u64::from(exists))
}

/// Waits until Postfix has delivered everything it accepted for `user` before now: a sentinel
/// submitted now arrives after it (one queue, delivered in order).
pub async fn drain(stack: &MailStack, from: &StackUser, user: &StackUser) -> anyhow::Result<()> {
    let id = format!("sentinel-{}@agency.example", rand::rng().random::<u64>());
    let raw = message(
        &from.address,
        &user.address,
        "sentinel",
        &id,
        Timestamp::now(),
        "",
    );
    let mut tries = 0;
    while let Err(err) = stack
        .submit(from, &from.address, &[&user.address], &raw)
        .await
    {
        tries += 1;
        if tries > 30 {
            return Err(err.context("submitting a sentinel"));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // Deliver what Postfix deferred while Dovecot was down now, not at its next queue run.
    let _ = Command::new("postqueue")
        .arg("-c")
        .arg(stack.dir().join("postfix"))
        .arg("-f")
        .output();
    // A SEARCH, not a download of the Inbox: it holds tens of thousands of messages.
    stack
        .wait_for_header(user, "INBOX", ("Message-ID", &id), DELIVERY)
        .await
        .map(drop)
}

/// The unfolded value of header `name`.
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let raw = String::from_utf8_lossy(raw);
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// `(kind, Message-ID)` of an email candor wrote, from its `X-Candor` header.
pub fn candor_email(raw: &[u8]) -> Option<(String, String)> {
    let x = header(raw, "X-Candor")?;
    let kind = x
        .split(';')
        .find_map(|part| part.trim().strip_prefix("kind="))?
        .to_owned();
    let id = header(raw, "Message-ID")?
        .trim_matches(['<', '>', ' '])
        .to_owned();
    Some((kind, id))
}

/// What the incoming stream submitted.
#[derive(Default, Debug)]
pub struct StreamLog {
    pub submitted: u64,
    pub refused: u64,
    /// Candidate address → when their answer was accepted by Postfix.
    pub answers: BTreeMap<String, Timestamp>,
}

/// Submits one message every ~100 ms until `stop`: answers from `answering` (each once, at a
/// random moment) and new mail from `others`. Refused submissions (a server down) are counted.
pub fn spawn_stream(
    stack: Arc<MailStack>,
    owner: StackUser,
    answering: Vec<StackUser>,
    others: Vec<StackUser>,
    answer_chance: f64,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<StreamLog> {
    tokio::spawn(async move {
        let mut log = StreamLog::default();
        let mut pending = answering;
        let mut n = 0u64;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            n += 1;
            let answer = !pending.is_empty() && rand::rng().random_bool(answer_chance);
            let (from, raw, answerer) = if answer {
                let i = rand::rng().random_range(0..pending.len());
                let c = pending[i].clone();
                let q = question_id(&c);
                let extra = format!("In-Reply-To: <{q}>\r\nReferences: <{q}>\r\n");
                let id = format!("answer-{n}-{}", c.address);
                let raw = message(
                    &c.address,
                    &owner.address,
                    "Re: Backend role",
                    &id,
                    Timestamp::now(),
                    &extra,
                );
                (c, raw, Some(i))
            } else {
                let o = others[n as usize % others.len().max(1)].clone();
                let id = format!("other-{n}-{}", o.address);
                let raw = message(
                    &o.address,
                    &owner.address,
                    &format!("Note {n}"),
                    &id,
                    Timestamp::now(),
                    "",
                );
                (o, raw, None)
            };
            match stack
                .submit(&from, &from.address, &[&owner.address], &raw)
                .await
            {
                Ok(()) => {
                    log.submitted += 1;
                    if let Some(i) = answerer {
                        log.answers.insert(from.address.clone(), Timestamp::now());
                        pending.remove(i);
                    }
                }
                Err(_) => log.refused += 1,
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        log
    })
}

/// Counts by outbox state.
pub fn states(rows: &[OutboxRow]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(r.state.clone()).or_default() += 1;
    }
    out
}

/// True while a row is in flight or waits to be sent now.
pub fn busy(rows: &[OutboxRow], now: Timestamp) -> bool {
    rows.iter().any(|r| {
        r.state == "sending"
            || (r.state == "queued" && r.next_try_at.unwrap_or(0) <= now.as_second())
    })
}

/// Polls `condition` (never a fixed sleep) until it holds or `deadline` passes.
pub async fn wait_for<F>(deadline: Duration, mut condition: F) -> bool
where
    F: AsyncFnMut() -> bool,
{
    let start = Instant::now();
    loop {
        if condition().await {
            return true;
        }
        if start.elapsed() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The findings of an audit: a table of checks and every violation found.
#[derive(Default, Debug)]
pub struct Audit {
    /// `(check, expected, measured, ok)`.
    pub lines: Vec<(String, String, String, bool)>,
    pub violations: Vec<String>,
    pub states: BTreeMap<String, usize>,
    pub received: usize,
}

impl Audit {
    pub fn check(&mut self, what: &str, expected: String, measured: String, ok: bool) {
        if !ok {
            self.violations
                .push(format!("{what}: expected {expected}, measured {measured}"));
        }
        self.lines.push((what.to_owned(), expected, measured, ok));
    }

    pub fn print(&self, title: &str) {
        println!("\n{title}");
        println!(
            "{:<52} {:>14} {:>14}  result",
            "check", "expected", "measured"
        );
        for (what, expected, measured, ok) in &self.lines {
            let verdict = if *ok { "ok" } else { "VIOLATION" };
            println!("{what:<52} {expected:>14} {measured:>14}  {verdict}");
        }
        for v in &self.violations {
            println!("  violation: {v}");
        }
    }
}

/// Compares the servers with the store once the daemon has stopped: messages stored against
/// delivered per folder, each candidate's automated emails against the policy (one per kind per
/// wait, never two of the same, nothing after an early answer), copies in Sent, unknown rows
/// reported. `allowed_failed` are candidates refused for good by the server.
pub async fn audit(
    stack: &MailStack,
    owner: &Owner,
    answers: &BTreeMap<String, Timestamp>,
    audit: &mut Audit,
) -> anyhow::Result<()> {
    // candor files its own copies in Sent by APPEND and stores them at the next sync of Sent
    // (before a send or every 5 minutes): one `candor sync` brings the store up to date.
    let synced = Command::new(&owner.bin)
        .arg("--config")
        .arg(&owner.config)
        .arg("sync")
        .env_remove("RUST_LOG")
        .output()?;
    audit.check(
        &format!("{}: a final `candor sync` succeeds", owner.name),
        "exit 0".into(),
        synced.status.to_string(),
        synced.status.success(),
    );
    let rows = owner.rows()?;
    audit.states = states(&rows);
    for folder in ["INBOX", "Sent"] {
        let held = delivered(stack, &owner.user, folder).await?;
        // Every message the server holds is a stored location or a recorded skip. (Distinct
        // messages would undercount: a message delivered twice is one message, two locations.)
        let kept = owner.located(folder)?;
        audit.check(
            &format!("{} {folder}: stored = on the server", owner.name),
            held.to_string(),
            kept.to_string(),
            held == kept,
        );
    }
    let sent_copies: Vec<(String, String)> = stack
        .read_folder(&owner.user, "Sent")
        .await?
        .iter()
        .filter_map(|m| candor_email(&m.raw))
        .collect();
    let plan = owner.json(&["plan", "--json"])?;
    let held_state: BTreeSet<String> = plan["held"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|h| h["gate"] == "state")
                .filter_map(|h| h["candidate"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let listed = owner.json(&["outbox", "list", "--json"])?;
    let listed_unknown: BTreeSet<String> = listed
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|r| r["state"] == "unknown")
                .filter_map(|r| {
                    r["message_id"]
                        .as_str()
                        .map(|s| s.trim_matches(['<', '>']).to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let (
        mut twice,
        mut over_policy,
        mut stray,
        mut lost,
        mut after_answer,
        mut copies_wrong,
        mut unreported,
        mut in_flight,
    ) = (0, 0, 0, 0, 0, 0, 0, 0);
    let now = Timestamp::now();
    for (i, c) in owner.candidates.iter().enumerate() {
        drain(stack, &owner.user, c).await?;
        let got: Vec<(String, String)> = stack
            .read_folder(c, "INBOX")
            .await?
            .iter()
            .filter_map(|m| candor_email(&m.raw))
            .collect();
        audit.received += got.len();
        let ids: BTreeSet<&String> = got.iter().map(|(_, id)| id).collect();
        if ids.len() < got.len() {
            twice += 1;
            audit.violations.push(format!(
                "{} received the same email twice: {got:?}",
                c.address
            ));
            // Two submissions (candor sent twice) or one submission delivered twice (the MTA):
            // Postfix's log tells them apart, the daemon's log says what candor did.
            let mut counted = BTreeMap::<&String, usize>::new();
            for (_, id) in &got {
                *counted.entry(id).or_default() += 1;
            }
            for (id, _) in counted.into_iter().filter(|&(_, n)| n > 1) {
                audit
                    .violations
                    .push(trace_duplicate(stack, owner, &c.address, id));
            }
        }
        let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
        for (kind, _) in &got {
            *per_kind.entry(kind).or_default() += 1;
        }
        if per_kind.values().any(|&n| n > 1) {
            over_policy += 1;
            audit.violations.push(format!(
                "{} received more than one of a kind: {per_kind:?}",
                c.address
            ));
        }
        let mine: Vec<&OutboxRow> = rows.iter().filter(|r| r.candidate == c.address).collect();
        for (_, id) in &got {
            if !mine.iter().any(|r| &r.message_id == id) {
                stray += 1;
                audit.violations.push(format!(
                    "{} received {id}, which no outbox row knows",
                    c.address
                ));
            }
        }
        if let Some(answered) = answers.get(&c.address)
            && owner.due[i].as_second() - answered.as_second() > 5
            && !got.is_empty()
        {
            after_answer += 1;
            audit.violations.push(format!("{} answered at {answered}, before the follow-up was due ({}), yet received {got:?}", c.address, owner.due[i]));
        }
        for r in &mine {
            let arrived = got.iter().filter(|(_, id)| *id == r.message_id).count();
            let copies = sent_copies
                .iter()
                .filter(|(_, id)| *id == r.message_id)
                .count();
            match r.state.as_str() {
                "sent" => {
                    if arrived != 1 {
                        lost += 1;
                        audit.violations.push(format!(
                            "sent row {} for {} arrived {arrived} times",
                            r.id, c.address
                        ));
                    }
                    if copies != 1 {
                        copies_wrong += 1;
                        audit
                            .violations
                            .push(format!("sent row {} has {copies} copies in Sent", r.id));
                    }
                }
                "unknown" => {
                    if copies != 0 {
                        copies_wrong += 1;
                        audit
                            .violations
                            .push(format!("unknown row {} has {copies} copies in Sent", r.id));
                    }
                    if !listed_unknown.contains(&r.message_id) || !held_state.contains(&c.address) {
                        unreported += 1;
                        audit.violations.push(format!(
                            "unknown row {} for {} is not reported (outbox list / plan held)",
                            r.id, c.address
                        ));
                    }
                }
                "sending" => in_flight += 1,
                "queued" if r.next_try_at.unwrap_or(0) <= now.as_second() => in_flight += 1,
                _ => {}
            }
        }
    }
    let zero = "0".to_owned();
    audit.check(
        "candidates who received the same email twice",
        zero.clone(),
        twice.to_string(),
        twice == 0,
    );
    audit.check(
        "candidates over the policy (>1 per kind per wait)",
        zero.clone(),
        over_policy.to_string(),
        over_policy == 0,
    );
    audit.check(
        "candidates followed up after an early answer",
        zero.clone(),
        after_answer.to_string(),
        after_answer == 0,
    );
    audit.check(
        "emails received that no outbox row knows",
        zero.clone(),
        stray.to_string(),
        stray == 0,
    );
    audit.check(
        "sent rows not received exactly once",
        zero.clone(),
        lost.to_string(),
        lost == 0,
    );
    audit.check(
        "rows with a wrong number of copies in Sent",
        zero.clone(),
        copies_wrong.to_string(),
        copies_wrong == 0,
    );
    audit.check(
        "unknown rows not reported (outbox list + plan)",
        zero.clone(),
        unreported.to_string(),
        unreported == 0,
    );
    audit.check(
        "rows still in flight or due at the end",
        zero,
        in_flight.to_string(),
        in_flight == 0,
    );
    Ok(())
}

/// What the logs say about an email a candidate received more than once: its submissions to
/// Postfix (one `cleanup` line each, with its queue id), every Postfix line of those queue ids,
/// and the daemon's lines about the candidate.
fn trace_duplicate(stack: &MailStack, owner: &Owner, candidate: &str, message_id: &str) -> String {
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let postfix = read(&stack.dir().join("log/postfix.log"));
    let queue_ids: Vec<&str> = postfix
        .lines()
        .filter(|l| l.contains("cleanup") && l.contains(message_id))
        .filter_map(|l| l.split(": ").nth(1))
        .collect();
    let mut out = format!(
        "  {message_id} was submitted to Postfix {} time(s), queue ids {queue_ids:?}",
        queue_ids.len()
    );
    for line in postfix
        .lines()
        .filter(|l| queue_ids.iter().any(|q| l.contains(q)))
    {
        out.push_str(&format!("\n    postfix: {line}"));
    }
    let daemon = read(&owner.config.with_file_name("daemon.log"));
    let about: Vec<&str> = daemon.lines().filter(|l| l.contains(candidate)).collect();
    for line in &about[about.len().saturating_sub(20)..] {
        out.push_str(&format!("\n    daemon: {line}"));
    }
    out
}
