//! Times the parser and store stages of a first sync alone (issue 4): parses every message of
//! one or more Maildir `cur` directories (header plus the IMAP body prefix), then stores them in
//! batches of 500 into an empty store, in one transaction per 10,000 messages.
//! Single-threaded and without IMAP, so its figures are steadier than the end-to-end benchmark.
//!
//! Usage: cargo run --release --example store_bench -- STORE_PATH MAILDIR_CUR...

use std::time::Instant;

use candor::conversations::Identity;
use candor::imap::Threads;
use candor::store::Store;
use candor::store::ingest::{self, Fetched, FolderId};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let store_path = std::path::PathBuf::from(args.next().expect("STORE_PATH"));
    let dirs: Vec<String> = args.collect();
    let runtime = tokio::runtime::Runtime::new()?;
    let store = Store::open(&store_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = jiff::Timestamp::now();
    let account = store.call_blocking(|tx| ingest::ensure_account(tx, "bench", now))?;
    let identity = Identity::new(
        &["jane@agency.example".to_owned()],
        &["agency.example".to_owned()],
    );
    let threads = runtime.block_on(Threads::load(&store, account, identity))?;
    let preparer = threads
        .lock()
        .map_err(|_| anyhow::anyhow!("threader poisoned"))?
        .preparer();
    let mut total = std::time::Duration::ZERO;
    let mut parsing = std::time::Duration::ZERO;
    let mut stored = 0;
    for (index, dir) in dirs.iter().enumerate() {
        let mut parsed: Vec<Fetched> = Vec::new();
        let mut names: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        names.sort();
        for (uid, path) in names.iter().enumerate() {
            let raw = std::fs::read(path)?;
            let body = raw
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4)
                .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
                .unwrap_or(raw.len());
            let end = (body + candor::mail::BODY_PREFIX_BYTES as usize).min(raw.len());
            let began = Instant::now();
            if let Ok(message) = candor::mail::parse(&raw[..end]) {
                let mut fetched = Fetched::parsed(uid as u32 + 1, now, message);
                // As the sync's parser stage does.
                fetched.prepare_thread(|message, date| preparer.prepare(message, date));
                parsed.push(fetched);
            }
            parsing += began.elapsed();
        }
        let name = format!("folder{index}");
        let folder: FolderId = store.call_blocking(|tx| {
            ingest::use_ingest_settings(tx)?;
            Ok(ingest::ensure_folder(tx, account, &name, "inbox")?.id)
        })?;
        let began = Instant::now();
        for group in parsed.chunks(10_000) {
            store.call_relaxed_blocking(|tx| {
                let mut threads = threads.lock().unwrap();
                for batch in group.chunks(500) {
                    threads.store_batch(tx, account, folder, 1, batch, 1, now)?;
                }
                Ok(())
            })?;
        }
        total += began.elapsed();
        stored += parsed.len();
    }
    println!(
        "parsed {stored} messages in {:.2} s ({:.1} us per message), as the parser stage does",
        parsing.as_secs_f64(),
        parsing.as_secs_f64() * 1e6 / stored as f64
    );
    println!(
        "stored {stored} messages in {:.2} s ({:.1} us per message)",
        total.as_secs_f64(),
        total.as_secs_f64() * 1e6 / stored as f64
    );
    Ok(())
}
