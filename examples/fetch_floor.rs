//! The floor of the ingest benchmark (issue 4): fetch exactly what `candor sync` fetches and
//! throw it away.
//!
//! `cargo run --release --features testkit --example fetch_floor -- CONFIG [FOLDER...]` logs in
//! with the first account of a candor configuration (same TLS, same trust anchors, same
//! `candor::imap::connect`), EXAMINEs each folder (default INBOX and Sent), sends one
//! `UID FETCH 1:* <items>` with the items `candor sync` asks for (`candor::imap::fetch_items`:
//! `(UID INTERNALDATE BODY.PEEK[]<0.N>)`), drains the answer with the response reader
//! `candor sync` uses (`candor::imap::wire`) and prints messages, bytes and seconds.
//! No parsing of the mail, no store: what is left is the server, TLS and the IMAP response
//! reader, which every client pays.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use candor::imap::wire::{Response, Status, Wire};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("fetch_floor: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("fetch_floor: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let config_path = PathBuf::from(
        args.next()
            .context("usage: fetch_floor CONFIG [FOLDER...]")?,
    );
    let mut folders: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    if folders.is_empty() {
        folders = vec!["INBOX".to_owned(), "Sent".to_owned()];
    }
    let config = candor::config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let account = config
        .accounts
        .first()
        .context("the configuration has no account")?;

    let started = Instant::now();
    let mut session = candor::imap::connect(&account.imap).await?;
    let query = candor::imap::fetch_items();
    let (mut messages, mut bytes) = (0u64, 0u64);
    for folder in &folders {
        session
            .examine(folder)
            .await
            .with_context(|| format!("EXAMINE {folder}"))?;
        let (mut folder_messages, mut folder_bytes) = (0u64, 0u64);
        let tag = session
            .run_command(format!("UID FETCH 1:* {query}"))
            .await
            .with_context(|| format!("UID FETCH 1:* in {folder}"))?;
        let mut wire = Wire::new();
        // Read like `candor sync` reads FETCH answers (candor's imap/socket.rs).
        session.get_mut().set_bulk(true);
        loop {
            let response = wire
                .next(session.get_mut(), Duration::from_secs(120))
                .await
                .with_context(|| format!("reading the FETCH answer of {folder}"))?;
            match response {
                // Touch what candor reads so that nothing is optimised away, then drop it.
                Response::Fetch(fetch) => {
                    if fetch.uid.is_some() && fetch.internal_date.is_some() {
                        folder_messages += 1;
                    }
                    folder_bytes += fetch.message.map_or(0, |m| m.len()) as u64;
                }
                Response::Done {
                    tag: done,
                    status,
                    text,
                } if done == tag.0 => {
                    anyhow::ensure!(status == Status::Ok, "UID FETCH in {folder}: {text}");
                    break;
                }
                _ => {}
            }
        }
        session.get_mut().set_bulk(false);
        anyhow::ensure!(!wire.has_unread(), "unexpected data after the FETCH answer");
        println!("{folder}: {folder_messages} messages, {folder_bytes} bytes");
        messages += folder_messages;
        bytes += folder_bytes;
    }
    // A failed LOGOUT does not change what was read.
    let _ = session.logout().await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "floor: {messages} messages, {bytes} bytes in {seconds:.2} s ({:.0} messages/s)",
        messages as f64 / seconds.max(f64::EPSILON)
    );
    Ok(())
}
