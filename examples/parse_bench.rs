//! Times the parser stage of a first sync alone (issue 4): reads every message of one or more
//! Maildir `cur` directories, cuts each to what IMAP fetches (header plus the body prefix), then
//! parses them all with `mail::parse`, several rounds. Prints the best round's CPU time per
//! message, measured on the parsing thread itself, so that other work on the machine changes it
//! little (the end-to-end benchmark moves by a third from one round to the next here).
//!
//! Usage: cargo run --release --example parse_bench -- ROUNDS MAILDIR_CUR...

use std::time::Duration;

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes the timespec it is given, which lives on this stack.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: parse_bench ROUNDS MAILDIR_CUR..."))?
        .parse()?;
    let mut inputs = Vec::new();
    for dir in args {
        let mut paths: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .collect();
        paths.sort();
        for path in paths {
            let raw = std::fs::read(&path)?;
            let body = candor::mail::body_start(&raw).unwrap_or(raw.len());
            let end = (body + candor::mail::BODY_PREFIX_BYTES as usize).min(raw.len());
            inputs.push(raw[..end].to_vec());
        }
    }
    anyhow::ensure!(!inputs.is_empty(), "no messages found");
    let mut best = Duration::MAX;
    for round in 1..=rounds {
        let began = thread_cpu();
        let parsed = inputs
            .iter()
            .filter(|raw| candor::mail::parse(raw).is_ok())
            .count();
        let took = thread_cpu() - began;
        best = best.min(took);
        eprintln!(
            "round {round}: {parsed} of {} parsed in {:.2} s of CPU",
            inputs.len(),
            took.as_secs_f64()
        );
    }
    println!(
        "parsed {} messages: {:.2} us of CPU per message (best of {rounds} rounds)",
        inputs.len(),
        best.as_secs_f64() * 1e6 / inputs.len() as f64
    );
    Ok(())
}
