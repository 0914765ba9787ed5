//! `candor status [--json]`: what the daemon is doing, per account. Read-only: it works beside
//! the running daemon, from the status record the daemon keeps in the store (`daemon_status`)
//! and the store's own facts (last sync, last error, outbox).

use std::process::ExitCode;

use serde_json::{Value, json};

use super::commands::{failed, open_store};
use crate::clock::Clock;
use crate::config::Config;
use crate::store::status::{self, AccountRecord, DaemonStatus};

/// One account's status, as printed.
#[derive(Debug)]
struct AccountView {
    name: String,
    daemon: Option<DaemonStatus>,
    running: bool,
    record: AccountRecord,
}

/// Whether a process with this pid exists (EPERM: it exists, owned by someone else).
fn alive(pid: i64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) with signal 0 only checks for existence and permission.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Whether the daemon recorded with `pid` still runs: it holds the store's lock, or, where the
/// kernel's lock table cannot be read, a process with that pid exists.
fn running(store: &crate::store::Store, pid: i64) -> bool {
    match u32::try_from(pid).ok().and_then(|pid| store.locked_by(pid)) {
        Some(held) => held,
        None => alive(pid),
    }
}

fn time(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| seconds.to_string())
}

/// The reasons the owner should look at the account, most urgent first.
fn needs_attention(view: &AccountView) -> Vec<String> {
    let mut reasons = Vec::new();
    let state = view.daemon.as_ref().map(|d| d.state.as_str());
    if state == Some("auth_paused") || view.record.last_error.contains("refused the login") {
        reasons.push("the server refuses the login: check the credentials, then reload".to_owned());
    }
    if view.record.has_folders && !view.record.has_sent {
        reasons.push(
            "no Sent folder found: set [account.folders] sent, or the owner's replies stay invisible"
                .to_owned(),
        );
    }
    let in_state = |state: &str| view.record.outbox.get(state).copied().unwrap_or(0);
    let emails = |n: i64| crate::report::count(usize::try_from(n).unwrap_or(0), "email", "emails");
    if in_state("unknown") > 0 {
        reasons.push(format!(
            "{} with an unknown outcome (never resent automatically): check the Sent folder, see `candor outbox list`",
            emails(in_state("unknown"))
        ));
    }
    if in_state("failed") > 0 {
        reasons.push(format!(
            "{} failed: see `candor outbox list`",
            emails(in_state("failed"))
        ));
    }
    reasons
}

/// The next scheduled action: the daemon's, or the earliest queued email when sooner.
fn next_action(view: &AccountView) -> Option<(String, i64)> {
    let daemon = view
        .daemon
        .as_ref()
        .filter(|_| view.running)
        .and_then(|d| d.next_at.map(|at| (d.next_action.clone(), at)));
    let queued = view
        .record
        .next_queued
        .map(|at| ("send a queued email".to_owned(), at));
    match (daemon, queued) {
        (Some(d), Some(q)) => Some(if q.1 < d.1 { q } else { d }),
        (d, q) => d.or(q),
    }
}

fn state_of(view: &AccountView) -> &str {
    match &view.daemon {
        Some(d) if view.running => d.state.as_str(),
        _ => "not running",
    }
}

fn to_json(view: &AccountView) -> Value {
    let next = next_action(view);
    json!({
        "name": view.name,
        "daemon_running": view.running,
        "state": state_of(view),
        "since": view.daemon.as_ref().filter(|_| view.running).map(|d| time(d.since)),
        "pid": view.daemon.as_ref().filter(|_| view.running).map(|d| d.pid),
        "detail": view.daemon.as_ref().filter(|_| view.running).map(|d| d.detail.clone()).unwrap_or_default(),
        "last_sync": view.record.last_sync_at.map(time),
        "last_error": (!view.record.last_error.is_empty()).then(|| view.record.last_error.clone()),
        "outbox": view.record.outbox,
        "next_action": next.as_ref().map(|(what, _)| what.clone()),
        "next_at": next.map(|(_, at)| time(at)),
        "needs_attention": needs_attention(view),
    })
}

fn to_text(view: &AccountView) -> String {
    let mut lines = Vec::new();
    let head = match &view.daemon {
        Some(d) if view.running => format!(
            "{}: {} since {} (daemon pid {})",
            view.name,
            d.state,
            time(d.since),
            d.pid
        ),
        _ => format!("{}: the daemon is not running", view.name),
    };
    lines.push(head);
    if let Some(d) = view
        .daemon
        .as_ref()
        .filter(|d| view.running && !d.detail.is_empty())
    {
        lines.push(format!("  why: {}", d.detail));
    }
    lines.push(format!(
        "  last successful sync: {}",
        view.record
            .last_sync_at
            .map(time)
            .unwrap_or_else(|| "never".to_owned())
    ));
    if let Some((what, at)) = next_action(view) {
        lines.push(format!("  next: {what} at {}", time(at)));
    }
    let outbox: Vec<String> = view
        .record
        .outbox
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    lines.push(format!(
        "  outbox: {}",
        if outbox.is_empty() {
            "empty".to_owned()
        } else {
            outbox.join(", ")
        }
    ));
    if !view.record.last_error.is_empty() {
        lines.push(format!("  last error: {}", view.record.last_error));
    }
    for reason in needs_attention(view) {
        lines.push(format!("  needs attention: {reason}"));
    }
    lines.join("\n")
}

/// `candor status [--json]`.
pub fn status(config: &Config, as_json: bool, _clock: Clock) -> ExitCode {
    let store = match open_store(config) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let names: Vec<String> = config.accounts.iter().map(|a| a.name.clone()).collect();
    let lock_store = store.clone();
    let views = store.call_blocking(move |tx| {
        names
            .into_iter()
            .map(|name| {
                let daemon = status::get(tx, &name)?;
                let record = status::account_record(tx, &name)?.unwrap_or_default();
                // The recorded daemon runs if it still holds the store's lock: a pid alone may
                // be another process's after a kill -9 and a reboot (found in review).
                let running = daemon
                    .as_ref()
                    .is_some_and(|d| d.state != "stopped" && running(&lock_store, d.pid));
                Ok(AccountView {
                    name,
                    daemon,
                    running,
                    record,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()
    });
    let views = match views {
        Ok(views) => views,
        Err(err) => return failed("status", err),
    };
    if as_json {
        let accounts: Vec<Value> = views.iter().map(to_json).collect();
        let out = json!({ "accounts": accounts });
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        let texts: Vec<String> = views.iter().map(to_text).collect();
        println!("{}", texts.join("\n\n"));
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn view(state: &str, error: &str, outbox: &[(&str, i64)], has_sent: bool) -> AccountView {
        AccountView {
            name: "jane".to_owned(),
            daemon: Some(DaemonStatus {
                pid: i64::from(std::process::id()),
                state: state.to_owned(),
                detail: String::new(),
                next_action: "re-check every folder".to_owned(),
                next_at: Some(2_000),
                since: 1_000,
                updated_at: 1_000,
            }),
            running: true,
            record: AccountRecord {
                last_sync_at: Some(900),
                last_error: error.to_owned(),
                has_sent,
                has_folders: true,
                outbox: outbox
                    .iter()
                    .map(|(s, n)| ((*s).to_owned(), *n))
                    .collect::<BTreeMap<_, _>>(),
                next_queued: None,
            },
        }
    }

    #[test]
    fn needs_attention_names_refused_logins_missing_sent_unknown_and_failed_sends() {
        assert!(needs_attention(&view("idle", "", &[("sent", 3)], true)).is_empty());
        let reasons = needs_attention(&view(
            "auth_paused",
            "the server refused the login",
            &[("unknown", 1), ("failed", 2)],
            false,
        ));
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(reasons[0].contains("refuses the login"));
        assert!(reasons[1].contains("no Sent folder"));
        assert!(reasons[2].starts_with("1 email with an unknown outcome"));
        assert!(reasons[3].starts_with("2 emails failed"));
    }

    #[test]
    fn the_next_action_is_the_sooner_of_the_daemons_and_the_queued_email() {
        let mut v = view("idle", "", &[], true);
        assert_eq!(
            next_action(&v),
            Some(("re-check every folder".to_owned(), 2_000))
        );
        v.record.next_queued = Some(1_500);
        assert_eq!(
            next_action(&v),
            Some(("send a queued email".to_owned(), 1_500))
        );
        v.running = false;
        assert_eq!(
            next_action(&v),
            Some(("send a queued email".to_owned(), 1_500))
        );
        assert_eq!(state_of(&v), "not running");
        assert!(to_text(&v).contains("the daemon is not running"));
        assert!(alive(i64::from(std::process::id())));
        assert!(!alive(0) && !alive(-1));
    }

    /// Found in review: after a kill -9 and a reboot, the recorded pid may be another live
    /// process's; only the holder of the store's lock is the daemon.
    #[test]
    fn a_recorded_pid_runs_only_while_it_holds_the_store_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("candor.db")).unwrap();
        let me = i64::from(std::process::id());
        assert!(!running(&store, me), "alive, but never held the lock");
        let lock = store.lock_daemon("candor run").unwrap();
        assert!(running(&store, me));
        drop(lock);
        assert!(!running(&store, me), "alive, but let go of the lock");
    }
}
