//! The commands that do something: each opens what it needs, calls the library and prints.

use std::process::ExitCode;

use crate::cli::StatsArgs;
use crate::clock::Clock;
use crate::config::Config;
use crate::report;
use crate::service;
use crate::store::{self, Store};

fn open_store(config: &Config) -> Result<Store, ExitCode> {
    Store::open(&config.storage.path).map_err(|err| {
        eprintln!("candor: {err}");
        ExitCode::from(1)
    })
}

fn lock(store: &Store, what: &str) -> Result<store::DaemonLock, ExitCode> {
    store.lock_daemon(what).map_err(|err| {
        eprintln!("candor: {err}");
        ExitCode::from(1)
    })
}

/// `candor sync`: one pass over every account; exit 1 if any account failed.
pub async fn sync(config: Config, clock: Clock) -> ExitCode {
    let store = match open_store(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let _lock = match lock(&store, "candor sync") {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    let mut failed = false;
    for (name, result) in service::sync_all_once(&config, &store, clock).await {
        match result {
            Ok(report) => {
                let folders = report
                    .folders
                    .iter()
                    .map(|f| format!("{} +{}", f.folder, f.new_messages))
                    .collect::<Vec<_>>()
                    .join(", ");
                println!(
                    "{name}: {} fetched, {} new, {} skipped ({folders})",
                    report.fetched(),
                    report.new_messages(),
                    report.skipped()
                );
            }
            Err(err) => {
                failed = true;
                eprintln!("candor: {err:#}");
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `candor run [--once]`.
pub async fn run(config: Config, clock: Clock, once: bool) -> ExitCode {
    let store = match open_store(&config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let what = if once {
        "candor run --once"
    } else {
        "candor run"
    };
    let _lock = match lock(&store, what) {
        Ok(lock) => lock,
        Err(code) => return code,
    };
    if once {
        // One full cycle of what exists so far: a sync of every account.
        let mut failed = false;
        for (_, result) in service::sync_all_once(&config, &store, clock).await {
            if let Err(err) = result {
                failed = true;
                tracing::error!("{err:#}");
            }
        }
        return if failed {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
    }
    match service::run(config, store, clock).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::from(1)
        }
    }
}

/// `candor stats --json [--since T] [--until T]`.
pub fn stats(config: &Config, args: &StatsArgs) -> ExitCode {
    if !args.json {
        eprintln!("candor stats: only --json is available; run `candor stats --json`");
        return ExitCode::from(2);
    }
    let bound = |text: &Option<String>, flag: &str| match text {
        None => Ok(None),
        Some(t) => report::parse_bound(t)
            .map(|ts| Some(ts.as_second()))
            .map_err(|e| {
                eprintln!("candor stats: --{flag}: {e}");
                ExitCode::from(2)
            }),
    };
    let (since, until) = match (bound(&args.since, "since"), bound(&args.until, "until")) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let store = match open_store(config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let names: Vec<String> = config.accounts.iter().map(|a| a.name.clone()).collect();
    let result = store.call_blocking(|tx| {
        names
            .iter()
            .map(|name| store::stats::account_counts(tx, name, since, until))
            .collect::<anyhow::Result<Vec<_>>>()
    });
    match result {
        Ok(accounts) => {
            let accounts: Vec<_> = accounts.iter().map(report::account_stats_json).collect();
            let out = serde_json::json!({ "accounts": accounts });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("candor stats: {err:#}");
            ExitCode::from(1)
        }
    }
}
