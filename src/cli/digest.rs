//! `candor digest --print|--send`.

use std::process::ExitCode;

use super::commands::{failed, open_store, with_runtime_pub as with_runtime};
use crate::clock::Clock;
use crate::config::Config;
use crate::outbox::digest::{self, Sent};
use crate::service;

/// `--print`: the plain-text digest of the period since the last one, to stdout; nothing is
/// sent or recorded. `--send`: build and send it now to `digest.to` (recorded as a digest, so
/// decided closures it lists may go out after their window).
pub fn digest(config: &Config, send: bool, clock: Clock) -> ExitCode {
    let store = match open_store(config) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let templates = match service::templates(config) {
        Ok(t) => t,
        Err(err) => return failed("digest", err),
    };
    if !send {
        let now = clock.now();
        let mut texts = Vec::new();
        for account in &config.accounts {
            let result = digest::preview_period(&store, account, now)
                .and_then(|(start, end)| digest::build(&store, account, start, end, now))
                .and_then(|d| templates.render_digest(&d));
            match result {
                Ok((text, _html)) => texts.push(text),
                Err(err) => return failed("digest", err),
            }
        }
        println!("{}", texts.join("\n\n"));
        return ExitCode::SUCCESS;
    }
    with_runtime(async move {
        let mut code = ExitCode::SUCCESS;
        // A command: a signal ends the process, nothing stops it from within.
        let never = tokio::sync::watch::channel(false).1;
        for account in &config.accounts {
            match digest::send(&store, account, &templates, None, clock, &never).await {
                Ok(Sent::Done { outbox_id, state }) => {
                    println!(
                        "{}: digest to {} is {state} (outbox {outbox_id})",
                        account.name, account.digest.to
                    );
                    if state != "sent" {
                        code = ExitCode::from(1);
                    }
                }
                Ok(Sent::AlreadyDone) => {
                    println!("{}: a digest for this moment already exists", account.name)
                }
                Err(err) => {
                    eprintln!("candor digest: account {}: {err:#}", account.name);
                    code = ExitCode::from(1);
                }
            }
        }
        code
    })
}
