//! Times the parser and store stages of a first sync alone (issue 4): parses every message of
//! one or more Maildir `cur` directories (header plus the IMAP body prefix), then stores them in
//! batches of 500 into an empty store, in one transaction per 10,000 messages.
//! Single-threaded and without IMAP, so its figures are steadier than the end-to-end benchmark.
//! Prints the store's wall time, its CPU time (user plus system of the storing thread, the
//! steadier figure on a shared machine) and its reads and writes, then the same for closing the
//! store, whose checkpoint of what the WAL still holds is part of the cost of storing.
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
    let mut cpu = std::time::Duration::ZERO;
    let mut io = [0u64; 4];
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
        let cpu_began = thread_cpu();
        let io_began = thread_io();
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
        cpu += thread_cpu() - cpu_began;
        let io_now = thread_io();
        for (sum, (now, then)) in io.iter_mut().zip(io_now.iter().zip(io_began)) {
            *sum += now - then;
        }
        stored += parsed.len();
    }
    // Closing the store checkpoints what the WAL still holds: part of the cost of storing, which
    // a later checkpoint interval only moves here.
    let began = Instant::now();
    let cpu_began = thread_cpu();
    let io_began = thread_io();
    drop(store);
    let io_now = thread_io();
    let closed = began.elapsed();
    let closed_cpu = thread_cpu() - cpu_began;
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
    println!(
        "store CPU (user+sys of this thread) {:.2} s ({:.1} us per message)",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / stored as f64
    );
    println!(
        "closed the store (final checkpoint) in {:.2} s, CPU {:.2} s; store and close {:.1} us per message, CPU {:.1} us",
        closed.as_secs_f64(),
        closed_cpu.as_secs_f64(),
        (total + closed).as_secs_f64() * 1e6 / stored as f64,
        (cpu + closed_cpu).as_secs_f64() * 1e6 / stored as f64
    );
    println!(
        "store I/O: {} reads ({} MB), {} writes ({} MB); close: {} reads ({} MB), {} writes ({} MB)",
        io[2],
        io[0] >> 20,
        io[3],
        io[1] >> 20,
        io_now[2] - io_began[2],
        (io_now[0] - io_began[0]) >> 20,
        io_now[3] - io_began[3],
        (io_now[1] - io_began[1]) >> 20,
    );
    Ok(())
}

/// rchar, wchar, syscr, syscw of the calling thread.
fn thread_io() -> [u64; 4] {
    let text = std::fs::read_to_string("/proc/thread-self/io").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    [
        field("rchar:"),
        field("wchar:"),
        field("syscr:"),
        field("syscw:"),
    ]
}

/// User plus system CPU time of the calling thread (the store runs on it).
fn thread_cpu() -> std::time::Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let time =
        |t: libc::timeval| std::time::Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}
