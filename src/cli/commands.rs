//! The commands that do something: each opens what it needs, calls the library and prints.

use std::process::ExitCode;

use crate::cli::StatsArgs;
use crate::clock::Clock;
use crate::config::Account;
use crate::config::Config;
use crate::report::{self, candidates, facts};
use crate::service;
use crate::store::mailbox;
use crate::store::{self, Store};

pub(super) fn open_store(config: &Config) -> Result<Store, ExitCode> {
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
    for (name, result) in service::pass_all_once(&config, &store, false, clock).await {
        match result {
            Ok((report, _)) => {
                for folder in &report.folders {
                    if let Some(words) = &folder.refused {
                        failed = true;
                        eprintln!(
                            "candor: account {name}: the server refused to open folder {}: {words}",
                            folder.folder
                        );
                    }
                }
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
        // One full cycle: sync every account, plan, re-check and send (or draft, or record).
        let mut failed = false;
        for (name, result) in service::pass_all_once(&config, &store, true, clock).await {
            match result {
                Ok((sync, cycle)) => {
                    let c = cycle.unwrap_or_default();
                    println!("{}", once_summary(&name, sync.new_messages(), &c));
                }
                Err(err) => {
                    failed = true;
                    eprintln!("candor: {err:#}");
                }
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

/// The line `run --once` prints for an account: what the sync found and what the cycle did.
fn once_summary(name: &str, new_messages: usize, c: &crate::outbox::CycleReport) -> String {
    // Found in review: "jane: 1 new messages".
    format!(
        "{name}: {}; {} queued, {} sent, {} drafted, {} recorded, {} failed, {} unknown, {} cancelled at send time, {} to retry",
        crate::report::count(new_messages, "new message", "new messages"),
        c.queued,
        c.sent,
        c.drafted,
        c.recorded,
        c.failed,
        c.unknown,
        c.cancelled,
        c.retrying
    )
}

/// `candor stats --json [--since T] [--until T]`.
pub fn stats(config: &Config, args: &StatsArgs, clock: Clock) -> ExitCode {
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
    let now = clock.now();
    let end = until
        .and_then(|u| jiff::Timestamp::from_second(u).ok())
        // Up to now, the current second included (the store keeps whole seconds).
        .unwrap_or_else(|| crate::clock::end_of_second(now));
    // The default start is counted back from the end: from --until alone it was counted from
    // now, which left the window empty and every figure null for an --until in the past (found
    // in review).
    let window = (
        since
            .and_then(|s| jiff::Timestamp::from_second(s).ok())
            .unwrap_or_else(|| candidates::default_since(end)),
        end,
    );
    // The window is [since, until): given both ways round, it is a mistake to say, not an empty
    // answer to give (found in review). A --since still to come is only empty so far.
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        eprintln!(
            "candor stats: the window is empty: --since {} is not before --until {}",
            window.0, window.1
        );
        return ExitCode::from(2);
    }
    let result = config
        .accounts
        .iter()
        .map(|account| {
            let name = account.name.clone();
            let counts =
                store.call_blocking(|tx| store::stats::account_counts(tx, &name, since, until))?;
            let facts = facts::load(&store, account)?;
            let mut json = report::account_stats_json(&counts);
            json["threads"] = facts.threads.into();
            json["candidates"] = facts.conversations.len().into();
            json["latency"] = candidates::latency_json(&facts, now, window.0, window.1);
            let name = account.name.clone();
            let rows = store.call_blocking(move |tx| {
                Ok(match mailbox::account_id(tx, &name)? {
                    Some(id) => crate::store::outbox::rows(tx, Some(id))?,
                    None => Vec::new(),
                })
            })?;
            let activity = report::activity::activity(
                &facts,
                &rows,
                &account.policy.opt_out_phrases,
                window.0,
                window.1,
            );
            json["activity"] = serde_json::to_value(activity)?;
            Ok(json)
        })
        .collect::<anyhow::Result<Vec<_>>>();
    match result {
        Ok(accounts) => {
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

/// The account a candidate command acts on: `--account`, or the only one.
pub(super) fn pick_account<'a>(
    config: &'a Config,
    name: Option<&str>,
) -> Result<&'a Account, ExitCode> {
    match name {
        Some(name) => config
            .accounts
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = config.accounts.iter().map(|a| a.name.as_str()).collect();
                eprintln!(
                    "candor: no account named {name:?} (accounts: {})",
                    known.join(", ")
                );
                ExitCode::from(2)
            }),
        None if config.accounts.len() == 1 => Ok(&config.accounts[0]),
        None => {
            let known: Vec<&str> = config.accounts.iter().map(|a| a.name.as_str()).collect();
            eprintln!(
                "candor: several accounts are configured: name one with --account ({})",
                known.join(", ")
            );
            Err(ExitCode::from(2))
        }
    }
}

pub(super) fn failed(what: &str, err: anyhow::Error) -> ExitCode {
    eprintln!("candor {what}: {err:#}");
    ExitCode::from(1)
}

/// `candor candidates [--json]`: every candidate of every account.
pub fn candidates(config: &Config, json: bool, clock: Clock) -> ExitCode {
    let store = match open_store(config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let now = clock.now();
    let since = candidates::default_since(now);
    let mut rows = Vec::new();
    let mut texts = Vec::new();
    for account in &config.accounts {
        let plan = match crate::plan::plan_account(&store, account, now) {
            Ok(plan) => plan,
            Err(err) => return failed("candidates", err),
        };
        // The policy's state of each conversation (SPEC §6), not just who owes an answer.
        let mut states = vec!["awaiting_candidate"; plan.account.conversations.len()];
        for verdict in &plan.verdicts {
            states[verdict.conversation] = verdict.decision.state.as_str();
        }
        if json {
            rows.extend(candidates::candidates_json(
                &plan.account,
                &states,
                since,
                now,
            ));
        } else {
            texts.push(candidates::candidates_text(
                &plan.account,
                &states,
                now,
                since,
                now,
            ));
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).unwrap_or_default()
        );
    } else {
        println!("{}", texts.join("\n\n"));
    }
    ExitCode::SUCCESS
}

/// `candor candidate show ADDRESS`.
pub fn candidate_show(
    config: &Config,
    address: &str,
    account: Option<&str>,
    clock: Clock,
) -> ExitCode {
    let account = match pick_account(config, account) {
        Ok(account) => account,
        Err(code) => return code,
    };
    let store = match open_store(config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let now = clock.now();
    let plan = match crate::plan::plan_account(&store, account, now) {
        Ok(plan) => plan,
        Err(err) => return failed("candidate show", err),
    };
    match plan.account.find(address) {
        Some(index) => {
            println!("{}", candidates::timeline_text(&plan.account, index, now));
            print!(
                "{}",
                crate::report::plan::conversation_text(&plan, index, now)
            );
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "candor: {address} is not a candidate of account {} (see `candor candidates`)",
                account.name
            );
            ExitCode::from(1)
        }
    }
}

/// What `candidate add` and `candidate exclude` change.
#[derive(Clone, Copy, Debug)]
pub enum MarkChange {
    Add,
    Exclude,
}

/// The account's row, created if the account was never synced (commands may run first).
pub(super) fn account_row(
    tx: &rusqlite::Transaction<'_>,
    name: &str,
    now: jiff::Timestamp,
) -> anyhow::Result<store::ingest::AccountId> {
    store::ingest::ensure_account(tx, name, now)
}

/// `candor candidate add|exclude ADDRESS`: one short transaction, fine beside the daemon.
pub fn candidate_mark(
    config: &Config,
    address: &str,
    account: Option<&str>,
    clock: Clock,
    change: MarkChange,
) -> ExitCode {
    let account = match pick_account(config, account) {
        Ok(account) => account,
        Err(code) => return code,
    };
    // As strict as the configuration's own lists (`scope.include`, `scope.exclude`): found in
    // review, "@bigco.example" was excluded "for good" while matching nobody.
    let checked = match change {
        MarkChange::Add => crate::config::values::check_address(address.trim()),
        MarkChange::Exclude => crate::config::values::check_address_or_domain(address.trim()),
    };
    let address = match checked {
        Ok(address) => address,
        Err(why) => {
            eprintln!("candor: {why}");
            return ExitCode::from(2);
        }
    };
    let store = match open_store(config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let now = clock.now();
    let name = account.name.clone();
    let target = address.clone();
    let result = store.call_blocking(move |tx| {
        let id = account_row(tx, &name, now)?;
        let mut mark = mailbox::marks(tx, id)?.remove(&target).unwrap_or_default();
        match change {
            MarkChange::Add => mark.added = true,
            MarkChange::Exclude => mark.excluded = true,
        }
        mailbox::set_mark(tx, id, &target, mark, now)
    });
    match result {
        Ok(()) => {
            match change {
                MarkChange::Add => println!("{address} is in scope for account {}", account.name),
                MarkChange::Exclude => println!(
                    "{address} is excluded: candor never writes to it (account {})",
                    account.name
                ),
            }
            ExitCode::SUCCESS
        }
        Err(err) => failed("candidate", err),
    }
}

/// `candor candidate merge A B`: B's conversation joins A's.
pub fn candidate_merge(
    config: &Config,
    into: &str,
    address: &str,
    account: Option<&str>,
    clock: Clock,
) -> ExitCode {
    let account = match pick_account(config, account) {
        Ok(account) => account,
        Err(code) => return code,
    };
    // Each a plain address, as `candidate add` takes: found in review, a display-name form was
    // merged, matching nobody.
    let checked = |raw: &str| crate::config::values::check_address(raw.trim());
    let (into, address) = match (checked(into), checked(address)) {
        (Ok(into), Ok(address)) if into != address => (into, address),
        (Ok(_), Ok(_)) => {
            eprintln!("candor: merge takes two different email addresses");
            return ExitCode::from(2);
        }
        (Err(why), _) | (_, Err(why)) => {
            eprintln!("candor: {why}");
            return ExitCode::from(2);
        }
    };
    let store = match open_store(config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let now = clock.now();
    let name = account.name.clone();
    let (a, b) = (into.clone(), address.clone());
    match store.call_blocking(move |tx| {
        let id = account_row(tx, &name, now)?;
        mailbox::add_merge(tx, id, &a, &b, now)
    }) {
        Ok(()) => {
            println!(
                "{address} is now the same candidate as {into} (account {})",
                account.name
            );
            ExitCode::SUCCESS
        }
        Err(err) => failed("candidate merge", err),
    }
}

/// `candor plan [--json]`.
pub fn plan(config: &Config, json: bool, clock: Clock) -> ExitCode {
    let store = match open_store(config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let now = clock.now();
    let mut planned = Vec::new();
    let mut held = Vec::new();
    let mut texts = Vec::new();
    for account in &config.accounts {
        let plan = match crate::plan::plan_account(&store, account, now) {
            Ok(plan) => plan,
            Err(err) => return failed("plan", err),
        };
        if json {
            let (p, h) = report::plan::plan_json(&plan, now);
            planned.extend(p);
            held.extend(h);
        } else {
            texts.push(report::plan::plan_text(&plan, now));
        }
    }
    if json {
        let out = serde_json::json!({ "planned": planned, "held": held });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        println!("{}", texts.join("\n\n"));
    }
    ExitCode::SUCCESS
}

/// The async runtime for commands that need one.
pub(super) fn with_runtime_pub(future: impl std::future::Future<Output = ExitCode>) -> ExitCode {
    super::with_runtime(future)
}

#[cfg(test)]
mod tests {
    use super::once_summary;
    use crate::outbox::CycleReport;

    #[test]
    fn run_once_says_one_new_message_in_the_singular() {
        let cycle = CycleReport {
            drafted: 1,
            ..CycleReport::default()
        };
        assert_eq!(
            once_summary("jane", 1, &cycle),
            "jane: 1 new message; 0 queued, 0 sent, 1 drafted, 0 recorded, 0 failed, 0 unknown, 0 cancelled at send time, 0 to retry"
        );
        assert!(once_summary("jane", 0, &cycle).starts_with("jane: 0 new messages;"));
        assert!(once_summary("jane", 2, &cycle).starts_with("jane: 2 new messages;"));
    }
}
