//! One account's long-lived sync task: connect, sync, IDLE (or poll), reconnect with backoff.

use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;
use rand::Rng as _;
use tokio::sync::watch;
use tokio::time::{Instant, timeout};

use super::notify::{AccountState, AccountStatus};
use super::{FULL_SYNC_EVERY, IDLE_AT_MOST, POLL_EVERY, stopped};
use crate::clock::Clock;
use std::sync::Arc;

use crate::config::Account;
use crate::conversations::Identity;
use crate::imap::{self, ImapError, ImapErrorKind, Session};
use crate::outbox::{self, compose::Templates};
use crate::store::Store;
use crate::store::ingest::{self, AccountId};

/// After this many refused logins in a row the account waits for the owner (SPEC §3).
const AUTH_FAILURES_BEFORE_PAUSE: u32 = 3;
const AUTH_PAUSE: Duration = Duration::from_secs(60 * 60);
const BACKOFF_START: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
/// How long a session must have stayed up, after a whole pass (every folder synced, an outbox
/// cycle, the Inbox synced again), for its failure to count as a new fault: only then does the
/// backoff start again from [`BACKOFF_START`]. A fault that comes back in every session (the
/// server drops the connection at the first command after LOGIN, refuses the Inbox, sends a
/// FETCH answer that cannot be parsed, an outbox cycle that fails, an IDLE that fails at once)
/// keeps doubling the wait as a refused connection does; a session that did its work and then
/// lost the network after a while reconnects quickly. Found in review: a login reset the
/// backoff, and such a fault made the daemon reconnect about once a second for ever.
const HEALTHY_SESSION: Duration = Duration::from_secs(60);
/// How often an idle daemon looks for changes made by commands beside it.
const STORE_POLL: Duration = Duration::from_secs(2);
/// Timeout for a command of the session itself (CAPABILITY), as for the sync's commands; the
/// tests shorten it to see it expire.
const SESSION_COMMAND_TIMEOUT: Duration = if cfg!(test) {
    Duration::from_secs(2)
} else {
    imap::COMMAND_TIMEOUT
};
/// Timeout for the server's answer to IDLE (its continuation) and to DONE.
const IDLE_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed for DONE and LOGOUT on the way out.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(3);
/// Time an outbox cycle under way gets to finish after a stop is asked for, so that an SMTP
/// transaction in flight ends and is recorded (`sent`) instead of being cut, which would leave
/// the row `sending` and make it `unknown` at the next start (SPEC §8). Together with DONE and
/// LOGOUT this stays within the 10 s a stop may take.
const SEND_GRACE: Duration = Duration::from_secs(4);

/// How an outbox cycle ended: by itself, or after a stop was asked for (`None`: it did not
/// finish within [`SEND_GRACE`]).
enum CycleEnd<T> {
    Done(T),
    Stopping(Option<T>),
}

/// Why a connected session ended.
enum SessionEnd {
    Shutdown,
    /// The error, and whether the session completed a whole pass before it.
    Failed(anyhow::Error, bool),
}

pub async fn sync_forever(
    store: Store,
    account: Account,
    templates: watch::Receiver<Arc<Templates>>,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
    mut reloaded: watch::Receiver<u64>,
    status: AccountStatus,
) {
    let name = account.name.clone();
    let now = clock.now();
    let account_id = match store
        .call(move |tx| ingest::ensure_account(tx, &name, now))
        .await
    {
        Ok(id) => id,
        Err(err) => {
            tracing::error!(account = %account.name, "cannot record the account: {err:#}");
            return;
        }
    };
    let mut backoff = BACKOFF_START;
    let mut auth_failures = 0u32;
    loop {
        if *shutdown.borrow() {
            return;
        }
        status.set(AccountState::Connecting, "", None).await;
        let connected = tokio::select! {
            result = imap::connect(&account.imap) => result,
            _ = stopped(&mut shutdown) => return,
        };
        let wait = match connected {
            Ok(session) => {
                // A login that works ends the run of refusals (SPEC §3), not the backoff: see
                // HEALTHY_SESSION.
                auth_failures = 0;
                let connected_at = Instant::now();
                tracing::info!(account = %account.name, "connected");
                match serve(
                    &store,
                    &account,
                    account_id,
                    session,
                    &templates,
                    clock,
                    &mut shutdown,
                    &status,
                )
                .await
                {
                    SessionEnd::Shutdown => return,
                    SessionEnd::Failed(err, completed_a_pass) => {
                        if completed_a_pass && connected_at.elapsed() >= HEALTHY_SESSION {
                            backoff = BACKOFF_START;
                        }
                        record_error(&store, account_id, &account.name, &err).await;
                        let wait = jittered(backoff);
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                        reconnecting(&status, AccountState::Reconnecting, &err, wait, clock).await;
                        wait
                    }
                }
            }
            Err(err) => {
                let is_auth = err.kind == ImapErrorKind::Auth;
                // Every failed connection doubles the backoff, refused logins included, as does
                // every session that failed before it was healthy (HEALTHY_SESSION).
                let mut wait = jittered(backoff);
                backoff = (backoff * 2).min(BACKOFF_MAX);
                let mut err = anyhow::Error::new(err);
                if is_auth {
                    // Not reset by the pause: after the hour one more refusal pauses again,
                    // instead of three more attempts against a server that may lock the account.
                    auth_failures += 1;
                    if auth_failures >= AUTH_FAILURES_BEFORE_PAUSE {
                        // Said in the recorded error too: `candor stats` shows that the account
                        // waits for its owner, not just one refusal.
                        err = err.context(format!(
                            "the server refused the login {auth_failures} times in a row; not retrying for an hour (or until a restart or reload) so the account is not locked: check the credentials"
                        ));
                        wait = AUTH_PAUSE;
                    }
                }
                record_error(&store, account_id, &account.name, &err).await;
                let state = if wait == AUTH_PAUSE {
                    AccountState::AuthPaused
                } else {
                    AccountState::Reconnecting
                };
                reconnecting(&status, state, &err, wait, clock).await;
                wait
            }
        };
        tracing::info!(account = %account.name, wait_ms = wait.as_millis() as u64, "reconnecting later");
        // A reload ends the wait, the pause after refused logins too (SPEC §3): the owner has
        // fixed the password file or command, which each connection reads anew. Found in review:
        // an account whose TOML did not change kept sleeping its hour.
        reloaded.borrow_and_update();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            Ok(()) = reloaded.changed() => {
                // The count of refusals stays: if the password is still wrong, this one more
                // refusal pauses again, rather than three more against a server that may lock
                // the account (a reload may be for another account).
                tracing::info!(account = %account.name, "the configuration was reloaded: reconnecting now");
                backoff = BACKOFF_START;
            }
            _ = stopped(&mut shutdown) => return,
        }
    }
}

async fn record_error(store: &Store, account_id: AccountId, name: &str, err: &anyhow::Error) {
    tracing::warn!(account = %name, "{err:#}");
    let text = format!("{err:#}");
    if let Err(e) = store
        .call(move |tx| ingest::account_error(tx, account_id, &text))
        .await
    {
        tracing::error!(account = %name, "cannot record the error: {e:#}");
    }
}

/// Says when the next connection attempt comes, and why the last one ended.
async fn reconnecting(
    status: &AccountStatus,
    state: AccountState,
    err: &anyhow::Error,
    wait: Duration,
    clock: Clock,
) {
    let at = clock.now() + wait;
    status
        .set(state, &format!("{err:#}"), Some(("reconnect", at)))
        .await;
}

/// Full jitter over the upper half: never zero, never a thundering herd.
pub(super) fn jittered(base: Duration) -> Duration {
    let ms = base.as_millis().max(2) as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
}

/// Runs a connected session until it fails or a shutdown is asked for.
// The session's whole context, each piece owned elsewhere; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn serve(
    store: &Store,
    account: &Account,
    account_id: AccountId,
    mut session: Session,
    templates: &watch::Receiver<Arc<Templates>>,
    clock: Clock,
    shutdown: &mut watch::Receiver<bool>,
    status: &AccountStatus,
) -> SessionEnd {
    let mut completed_a_pass = false;
    let result = async {
        // Every command is timed and every wait on the server gives way to a stop. Cut in the
        // middle of a command, the session is in an unknown state: no LOGOUT (`Ok(None)`).
        // Found in review: a server that never answered CAPABILITY held the account, and
        // SIGTERM, for ever.
        let capabilities = tokio::select! {
            r = timeout(SESSION_COMMAND_TIMEOUT, session.capabilities()) => r,
            _ = stopped(shutdown) => return Ok(None),
        };
        let has_idle = capabilities
            .map_err(|_| ImapError::timed_out("CAPABILITY"))?
            .map_err(|e| ImapError::from_imap("CAPABILITY", e))?
            .has_str("IDLE");
        let mut last_full: Option<Instant> = None;
        let mut folders = imap::FolderPlan::default();
        let threads = imap::Threads::load(store, account_id, Identity::for_account(account)).await?;
        loop {
            status.set(AccountState::Syncing, "", None).await;
            if last_full.is_none_or(|t| t.elapsed() >= FULL_SYNC_EVERY) {
                // LIST has its own timeout (imap::folders).
                folders = tokio::select! {
                    r = imap::discover_folders(&mut session, account) => r?,
                    _ = stopped(shutdown) => return Ok(None),
                };
                super::report_plan_problems(account, &folders);
                let report = tokio::select! {
                    r = imap::sync_account(store, account_id, &mut session, &account.imap, &folders, &threads, clock) => r?,
                    _ = stopped(shutdown) => return Ok(Some(session)),
                };
                log_report(account, &report);
                last_full = Some(Instant::now());
            }
            // The policy and the outbox, after every sync: what is due goes out now. The
            // templates are the latest (a reload replaces them).
            let templates = templates.borrow().clone();
            let cycle = {
                let mailbox = outbox::Mailbox {
                    session: &mut session,
                    folders: &folders,
                    threads: &threads,
                };
                // The cycle sees the stop too: once it is asked for, no new attempt begins, and
                // the grace below only lets an attempt under way finish and be recorded.
                let stop = shutdown.clone();
                let cycle = outbox::cycle(store, account, account_id, mailbox, &templates, clock, &stop);
                tokio::pin!(cycle);
                tokio::select! {
                    r = &mut cycle => CycleEnd::Done(r),
                    _ = stopped(shutdown) => CycleEnd::Stopping(timeout(SEND_GRACE, &mut cycle).await.ok()),
                }
            };
            let cycle = match cycle {
                CycleEnd::Done(r) => r?,
                CycleEnd::Stopping(Some(r)) => {
                    if let Err(err) = r {
                        tracing::warn!(account = %account.name, "the outbox cycle failed while stopping: {err:#}");
                    }
                    return Ok(Some(session));
                }
                // Cut in the middle of a command: no LOGOUT on a session in an unknown state.
                CycleEnd::Stopping(None) => {
                    tracing::warn!(account = %account.name, "the outbox cycle did not finish within {SEND_GRACE:?} of the stop");
                    return Ok(None);
                }
            };
            log_cycle(account, &cycle);
            super::release_freed_memory();
            // The Inbox last, so that it is the selected folder for IDLE.
            let report = tokio::select! {
                r = imap::sync_folder(store, account_id, &mut session, "INBOX", "inbox", &threads, clock) => r?,
                _ = stopped(shutdown) => return Ok(Some(session)),
            };
            if report.new_messages > 0 || report.gone > 0 {
                tracing::info!(account = %account.name, new = report.new_messages, gone = report.gone, "INBOX synced");
            }
            let until_full = FULL_SYNC_EVERY.saturating_sub(last_full.map(|t| t.elapsed()).unwrap_or_default());
            let until_deadline = cycle
                .next_deadline
                .map(|d| Duration::from_secs((d.as_second() - clock.now().as_second()).max(0) as u64))
                .unwrap_or(IDLE_AT_MOST);
            let wait = until_full.min(IDLE_AT_MOST).min(until_deadline).max(Duration::from_secs(1));
            let next = if until_deadline < until_full.min(IDLE_AT_MOST) {
                "look at due conversations"
            } else {
                "re-check every folder"
            };
            completed_a_pass = true;
            let state = if has_idle { AccountState::Idle } else { AccountState::Polling };
            status.set(state, "", Some((next, clock.now() + wait.min(if has_idle { wait } else { POLL_EVERY })))).await;
            if has_idle {
                match idle(session, wait, store, shutdown).await? {
                    IdleEnd::Again(s) => session = s,
                    IdleEnd::Stop(s) => return Ok(s),
                }
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(wait.min(POLL_EVERY)) => {}
                    _ = stopped(shutdown) => return Ok(Some(session)),
                }
            }
        }
    }
    .await;
    match result {
        Ok(Some(mut session)) => {
            let _ = timeout(GOODBYE_TIMEOUT, session.logout()).await;
            SessionEnd::Shutdown
        }
        Ok(None) => SessionEnd::Shutdown,
        Err(err) => SessionEnd::Failed(err, completed_a_pass),
    }
}

/// How an IDLE ended.
enum IdleEnd {
    /// Time to look again: the session goes on.
    Again(Session),
    /// A stop was asked for: the session to log out of, `None` if a command was cut.
    Stop(Option<Session>),
}

/// One IDLE on the selected folder.
async fn idle(
    session: Session,
    wait: Duration,
    store: &Store,
    shutdown: &mut watch::Receiver<bool>,
) -> anyhow::Result<IdleEnd> {
    let mut handle = session.idle();
    let started = tokio::select! {
        r = timeout(SESSION_COMMAND_TIMEOUT.min(IDLE_COMMAND_TIMEOUT), handle.init()) => r,
        _ = stopped(shutdown) => return Ok(IdleEnd::Stop(None)),
    };
    started
        .map_err(|_| ImapError::timed_out("IDLE"))?
        .map_err(|e| ImapError::from_imap("IDLE", e))?;
    let (outcome, stopping) = {
        let (wait_future, interrupt) = handle.wait_with_timeout(wait);
        tokio::pin!(wait_future);
        tokio::select! {
            outcome = &mut wait_future => (Some(outcome), false),
            // async-imap 0.12 restarts its timeout at every untagged OK, and Dovecot sends
            // `* OK Still here` every 2 minutes (imap_idle_notify_interval): without this outer
            // deadline an IDLE longer than that never ends on a quiet Inbox, and due follow-ups,
            // retries and full syncs wait for the next incoming email (outage campaign, 2026-11).
            _ = tokio::time::sleep(wait) => {
                drop(interrupt);
                let _ = timeout(GOODBYE_TIMEOUT, &mut wait_future).await;
                (None, false)
            }
            // A command beside the daemon (close, pause, cancel) changed the store: act on it now.
            _ = changed_elsewhere(store) => {
                drop(interrupt);
                let _ = timeout(GOODBYE_TIMEOUT, &mut wait_future).await;
                (None, false)
            }
            _ = stopped(shutdown) => {
                drop(interrupt);
                let _ = timeout(GOODBYE_TIMEOUT, &mut wait_future).await;
                (None, true)
            }
        }
    };
    if let Some(outcome) = outcome {
        match outcome.map_err(|e| ImapError::from_imap("IDLE", e))? {
            IdleResponse::NewData(_) | IdleResponse::Timeout | IdleResponse::ManualInterrupt => {}
        }
    }
    // On the way out DONE gets the short goodbye budget: the stop must end within 10 s. A stop
    // asked for while an ordinary DONE waits is obeyed at once.
    let done = if stopping {
        timeout(GOODBYE_TIMEOUT, handle.done()).await
    } else {
        tokio::select! {
            r = timeout(SESSION_COMMAND_TIMEOUT.min(IDLE_COMMAND_TIMEOUT), handle.done()) => r,
            _ = stopped(shutdown) => return Ok(IdleEnd::Stop(None)),
        }
    };
    let session = done
        .map_err(|_| ImapError::timed_out("DONE"))?
        .map_err(|e| ImapError::from_imap("DONE", e))?;
    Ok(if stopping {
        IdleEnd::Stop(Some(session))
    } else {
        IdleEnd::Again(session)
    })
}

/// Resolves when another process commits to the store (`PRAGMA data_version` moves).
async fn changed_elsewhere(store: &Store) {
    let first = store.data_version().await.ok();
    loop {
        tokio::time::sleep(STORE_POLL).await;
        let now = store.data_version().await.ok();
        if now.is_some() && now != first {
            return;
        }
    }
}

fn log_cycle(account: &Account, cycle: &outbox::CycleReport) {
    if cycle.queued
        + cycle.sent
        + cycle.drafted
        + cycle.recorded
        + cycle.failed
        + cycle.unknown
        + cycle.cancelled
        > 0
    {
        tracing::info!(
            account = %account.name,
            queued = cycle.queued,
            sent = cycle.sent,
            drafted = cycle.drafted,
            recorded = cycle.recorded,
            failed = cycle.failed,
            unknown = cycle.unknown,
            cancelled = cycle.cancelled,
            "outbox cycle"
        );
    }
}

fn log_report(account: &Account, report: &imap::AccountSyncReport) {
    tracing::info!(
        account = %account.name,
        fetched = report.fetched(),
        new = report.new_messages(),
        skipped = report.skipped(),
        "folders synced"
    );
    for folder in &report.folders {
        if folder.skipped > 0 {
            tracing::warn!(account = %account.name, folder = %folder.folder, skipped = folder.skipped, "messages could not be read and were skipped (see candor stats)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::eventually;
    use crate::service::notify::StatusBoard;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};

    fn config_for(port: u16) -> Account {
        crate::config::loopback_account("dry-run", port, 25, "")
    }

    /// What the fake server does after it accepted LOGIN.
    #[derive(Clone, Copy)]
    enum AfterLogin {
        /// Drops the connection at the next command.
        Drop,
        /// Never answers again.
        Silent,
        /// Answers CAPABILITY, then never answers again.
        SilentAfterCapability,
    }

    /// A fake IMAP server on loopback: greets, accepts LOGIN, then behaves as `after` says.
    /// Returns its port and a count of the connections it accepted.
    async fn fake_imap(after: AfterLogin) -> (u16, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let greeting = b"* OK [CAPABILITY IMAP4rev1 IDLE] ready\r\n";
                    write.write_all(greeting).await.unwrap();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let mut words = line.split(' ');
                        let (tag, command) = (words.next().unwrap(), words.next().unwrap_or(""));
                        if command.eq_ignore_ascii_case("LOGIN") {
                            let ok = format!("{tag} OK logged in\r\n");
                            let _ = write.write_all(ok.as_bytes()).await;
                            continue;
                        }
                        match after {
                            AfterLogin::Drop => break,
                            AfterLogin::SilentAfterCapability
                                if command.eq_ignore_ascii_case("CAPABILITY") =>
                            {
                                let answer =
                                    format!("* CAPABILITY IMAP4rev1 IDLE\r\n{tag} OK done\r\n");
                                let _ = write.write_all(answer.as_bytes()).await;
                            }
                            AfterLogin::Silent | AfterLogin::SilentAfterCapability => {}
                        }
                    }
                });
            }
        });
        (port, connections)
    }

    struct Started {
        stop: watch::Sender<bool>,
        task: tokio::task::JoinHandle<()>,
        store: Store,
        _reloads: watch::Sender<u64>,
    }

    fn start(account: Account) -> Started {
        let store = Store::open_in_memory().unwrap();
        let board = StatusBoard::new(store.clone(), Clock::system());
        let templates = watch::channel(Arc::new(Templates::load(None).unwrap())).1;
        let (stop, shutdown) = watch::channel(false);
        let (reloads, reloaded) = watch::channel(0u64);
        let task = tokio::spawn(sync_forever(
            store.clone(),
            account,
            templates,
            Clock::system(),
            shutdown,
            reloaded,
            board.account("jane"),
        ));
        Started {
            stop,
            task,
            store,
            _reloads: reloads,
        }
    }

    /// Regression (review): a login reset the backoff, so a server that dropped every session
    /// right after LOGIN was reconnected to about once a second for ever (29 times in 20 s).
    /// With the backoff doubling from 1 s (each wait jittered over its upper half) the
    /// connections of 8 s are at most 5; fewer on a slow machine, never more.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_session_that_fails_after_login_backs_off_exponentially() {
        let (port, connections) = fake_imap(AfterLogin::Drop).await;
        let started = start(config_for(port));
        tokio::time::sleep(Duration::from_secs(8)).await;
        started.stop.send(true).unwrap();
        let _ = timeout(Duration::from_secs(10), started.task).await;
        let n = connections.load(Ordering::SeqCst);
        assert!(
            n >= 2,
            "{n} connection(s): the account did not reconnect at all"
        );
        assert!(
            n <= 5,
            "{n} connections in 8 s: no backoff after a failed session"
        );
    }

    /// The account's last recorded error, as `candor status` shows it.
    async fn last_error(store: &Store) -> String {
        store
            .call(|tx| crate::store::status::account_record(tx, "jane"))
            .await
            .unwrap()
            .map(|r| r.last_error)
            .unwrap_or_default()
    }

    /// Regression (review): `serve` awaited CAPABILITY with no timeout and outside any select
    /// on the stop flag; a server silent after LOGIN held the account, and SIGTERM, for ever.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_server_silent_after_login_does_not_hang_the_account_or_its_stop() {
        let (port, connections) = fake_imap(AfterLogin::Silent).await;
        let started = start(config_for(port));
        // The command times out (shortened in tests) and the account reconnects.
        let mut error = String::new();
        for _ in 0..300 {
            error = last_error(&started.store).await;
            if !error.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            error.contains("CAPABILITY: timed out"),
            "the silent server's session did not time out: {error:?}"
        );
        assert!(
            eventually(Duration::from_secs(15), || connections
                .load(Ordering::SeqCst)
                >= 2)
            .await,
            "the account did not reconnect after the timeout"
        );
        // A stop while CAPABILITY waits is obeyed at once, whatever the command's timeout.
        started.stop.send(true).unwrap();
        assert!(
            timeout(Duration::from_secs(3), started.task).await.is_ok(),
            "the account task ignores the stop while its first command after LOGIN waits"
        );
    }

    /// The same for LIST (folder discovery): a stop while it waits ends the task at once.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_stop_while_folder_discovery_waits_ends_the_task() {
        let (port, connections) = fake_imap(AfterLogin::SilentAfterCapability).await;
        let started = start(config_for(port));
        assert!(
            eventually(Duration::from_secs(10), || connections
                .load(Ordering::SeqCst)
                >= 1)
            .await,
            "the account never connected"
        );
        // Past LOGIN and CAPABILITY, well within LIST's minute.
        tokio::time::sleep(Duration::from_millis(500)).await;
        started.stop.send(true).unwrap();
        assert!(
            timeout(Duration::from_secs(3), started.task).await.is_ok(),
            "the account task ignores the stop while LIST waits"
        );
    }
}
