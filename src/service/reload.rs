//! The running accounts, and how a new configuration changes them (SIGHUP): accounts added
//! start, accounts removed stop, accounts whose settings changed restart, the others keep their
//! connection. A configuration with problems changes nothing: every problem is logged and the
//! running one stays.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::notify::{self, StatusBoard};
use super::{account, stopped};
use crate::clock::Clock;
use crate::config::{self, Account, Config};
use crate::outbox::compose::Templates;
use crate::store::Store;

/// How a new list of accounts differs from the running one, by account name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Compares by name, then by every setting (any change restarts the account: its connection,
/// its folders or its policy may depend on it).
pub fn diff<'a>(running: impl IntoIterator<Item = &'a Account>, new: &[Account]) -> Changes {
    let old: BTreeMap<&str, &Account> = running.into_iter().map(|a| (a.name.as_str(), a)).collect();
    let mut changes = Changes::default();
    for account in new {
        match old.get(account.name.as_str()) {
            None => changes.added.push(account.name.clone()),
            Some(before) if *before == account => changes.unchanged.push(account.name.clone()),
            Some(_) => changes.changed.push(account.name.clone()),
        }
    }
    let names: Vec<&str> = new.iter().map(|a| a.name.as_str()).collect();
    changes.removed = old
        .keys()
        .filter(|name| !names.contains(name))
        .map(|name| (*name).to_owned())
        .collect();
    changes
}

struct Running {
    account: Account,
    /// Set to true to stop this account's tasks (also set when the whole daemon stops).
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The per-account tasks of the daemon.
pub struct Accounts {
    store: Store,
    clock: Clock,
    board: StatusBoard,
    templates: watch::Sender<Arc<Templates>>,
    shutdown: watch::Receiver<bool>,
    running: BTreeMap<String, Running>,
    /// Counts the reloads: an account waiting to reconnect (after refused logins too) tries
    /// again at once, with the credentials as they are now.
    reloaded: watch::Sender<u64>,
}

impl Accounts {
    pub fn new(
        store: Store,
        clock: Clock,
        board: StatusBoard,
        templates: Arc<Templates>,
        shutdown: watch::Receiver<bool>,
    ) -> Accounts {
        Accounts {
            store,
            clock,
            board,
            templates: watch::channel(templates).0,
            shutdown,
            running: BTreeMap::new(),
            reloaded: watch::channel(0).0,
        }
    }

    /// New templates for every account, from its next outbox cycle on (no restart needed).
    pub fn set_templates(&self, templates: Arc<Templates>) {
        self.templates.send_replace(templates);
    }

    /// Makes the running accounts those of `accounts`. Accounts that go or change are stopped
    /// (and waited for, so that two connections of one account never overlap) before the new
    /// ones start.
    pub async fn apply(&mut self, accounts: &[Account]) -> Changes {
        let changes = diff(self.running.values().map(|r| &r.account), accounts);
        let going: Vec<Running> = changes
            .removed
            .iter()
            .chain(&changes.changed)
            .filter_map(|name| self.running.remove(name))
            .collect();
        stop(going, Instant::now() + STOP_WITHIN).await;
        for name in &changes.removed {
            self.board.remove(name).await;
        }
        for account in accounts {
            if changes.added.contains(&account.name) || changes.changed.contains(&account.name) {
                self.spawn(account.clone());
            }
        }
        self.reloaded.send_modify(|n| *n += 1);
        changes
    }

    /// Starts the tasks of one account, each under [`supervise`].
    fn spawn(&mut self, account: Account) {
        let (stop, receiver) = watch::channel(false);
        // The daemon's stop reaches the account's own flag.
        let mut shutdown = self.shutdown.clone();
        let forward = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = stopped(&mut shutdown) => { let _ = forward.send(true); }
                _ = forward.closed() => {}
            }
        });
        let status = self.board.account(&account.name);
        let sync = {
            let (store, account, clock) = (self.store.clone(), account.clone(), self.clock);
            let (templates, reloaded) = (self.templates.subscribe(), self.reloaded.subscribe());
            let (stop, status) = (receiver.clone(), status.clone());
            move || {
                account::sync_forever(
                    store.clone(),
                    account.clone(),
                    templates.clone(),
                    clock,
                    stop.clone(),
                    reloaded.clone(),
                    status.clone(),
                )
            }
        };
        let mut tasks = vec![tokio::spawn(supervise(
            account.name.clone(),
            "sync",
            receiver.clone(),
            Some(status),
            self.clock,
            sync,
        ))];
        // The digest task lives and dies with its account (a reload restarts both). With
        // digests off it still retries a digest sent by hand that met a temporary error.
        let digest = {
            let (store, account, clock) = (self.store.clone(), account.clone(), self.clock);
            let (templates, stop) = (self.templates.subscribe(), receiver.clone());
            move || {
                super::digest::digest_forever(
                    store.clone(),
                    account.clone(),
                    templates.clone(),
                    clock,
                    stop.clone(),
                )
            }
        };
        tasks.push(tokio::spawn(supervise(
            account.name.clone(),
            "digest",
            receiver.clone(),
            None,
            self.clock,
            digest,
        )));
        drop(receiver);
        self.running.insert(
            account.name.clone(),
            Running {
                account,
                stop,
                tasks,
            },
        );
    }

    /// Stops every account, waiting at most `within` for all of them together.
    pub async fn stop_all(&mut self, within: Duration) {
        let all = std::mem::take(&mut self.running).into_values().collect();
        stop(all, Instant::now() + within).await;
    }
}

/// First wait before an account task that ended by itself is started again; it doubles at each
/// end in a row, up to [`RESTART_MAX`].
const RESTART_START: Duration = Duration::from_secs(1);
const RESTART_MAX: Duration = Duration::from_secs(5 * 60);
/// A task that ran at least this long before it ended is restarted after [`RESTART_START`]
/// again: its end is a new fault, not the same one coming back.
const RESTART_RESET: Duration = Duration::from_secs(10 * 60);

/// Aborts the task it holds when dropped: a supervisor aborted (a stop that took too long) takes
/// its account task with it, so that a restarted account never runs beside its old copy.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs one of an account's tasks (`start` makes it) until the account's stop flag is set. A
/// task that ends or panics without a stop is a fault: it is logged at error, shown in `candor
/// status` (`failed`, for the sync task) and the task is started again after a backoff with
/// jitter. One copy at a time: the next starts only after the last has ended. Found in review:
/// a store error in `ensure_account` (a busy store, a full disk) or a panic in the sync, the
/// outbox or the digest ended the account for good, while the watchdog kept pinging and
/// `candor status` showed its last state as live.
pub(super) async fn supervise<F, T>(
    name: String,
    what: &'static str,
    mut stop: watch::Receiver<bool>,
    status: Option<notify::AccountStatus>,
    clock: Clock,
    mut start: F,
) where
    F: FnMut() -> T,
    T: std::future::Future<Output = ()> + Send + 'static,
{
    let mut backoff = RESTART_START;
    loop {
        let started = Instant::now();
        let mut task = AbortOnDrop(tokio::spawn(start()));
        let outcome = (&mut task.0).await;
        // A closed flag counts as a stop (see `stopped`).
        if *stop.borrow() || stop.has_changed().is_err() {
            return;
        }
        let why = match outcome {
            Ok(()) => "ended".to_owned(),
            Err(err) if err.is_panic() => format!("panicked: {}", panic_text(err.into_panic())),
            Err(err) => format!("was cancelled: {err}"),
        };
        if started.elapsed() >= RESTART_RESET {
            backoff = RESTART_START;
        }
        let wait = account::jittered(backoff);
        backoff = (backoff * 2).min(RESTART_MAX);
        tracing::error!(
            account = %name,
            wait_ms = wait.as_millis() as u64,
            "the account's {what} task {why}: restarting it"
        );
        if let Some(status) = &status {
            let detail = format!("the account's {what} task {why}");
            let at = clock.now() + wait;
            status
                .set(notify::AccountState::Failed, &detail, Some(("restart", at)))
                .await;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

/// What a panic said, when it said it with a string.
fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(text) => (*text).to_owned(),
            Err(_) => "(no message)".to_owned(),
        },
    }
}

/// Longest wait for an account's tasks to end after their stop flag is set. Their own budget is
/// shorter: an in-flight send gets 4 s, then DONE and LOGOUT 3 s each at most.
pub const STOP_WITHIN: Duration = Duration::from_millis(8_500);

async fn stop(going: Vec<Running>, deadline: Instant) {
    for running in &going {
        let _ = running.stop.send(true);
    }
    for running in going {
        for mut task in running.tasks {
            match tokio::time::timeout_at(deadline, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::error!(account = %running.account.name, "an account task failed: {err}")
                }
                Err(_) => {
                    // Aborted, with the task it supervises: a restarted account must not run
                    // beside its old copy (a send cut here is `unknown` later, never resent).
                    task.abort();
                    tracing::warn!(account = %running.account.name, "an account task did not stop in time: aborted")
                }
            }
        }
    }
}

/// SIGHUP: reads the configuration file again. Valid → the accounts follow it; invalid → every
/// problem is logged (warn: the owner must act) and the running configuration stays.
pub async fn reload(current: &mut Config, accounts: &mut Accounts, board: &StatusBoard) {
    notify::reloading();
    let path = current.source.clone();
    let loaded = tokio::task::spawn_blocking(move || config::load(&path)).await;
    match loaded {
        Ok(Ok(new)) => match super::templates(&new) {
            Ok(templates) => {
                accounts.set_templates(Arc::new(templates));
                if new.storage.path != current.storage.path {
                    tracing::warn!(
                        "storage.path changed: the daemon keeps {} until it is restarted",
                        current.storage.path.display()
                    );
                }
                if new.logging != current.logging {
                    tracing::warn!(
                        "logging settings changed: they take effect at the next restart"
                    );
                }
                let changes = accounts.apply(&new.accounts).await;
                tracing::info!(
                    added = ?changes.added,
                    removed = ?changes.removed,
                    changed = ?changes.changed,
                    unchanged = changes.unchanged.len(),
                    "configuration reloaded"
                );
                let storage = crate::config::Storage {
                    path: current.storage.path.clone(),
                    retention_days: new.storage.retention_days,
                };
                *current = Config {
                    storage,
                    logging: current.logging.clone(),
                    ..new
                };
            }
            Err(err) => tracing::warn!(
                "the templates beside {} have a problem, the running configuration stays: {err:#}",
                current.source.display()
            ),
        },
        Ok(Err(errors)) => {
            for problem in &errors.problems {
                tracing::warn!("{problem}");
            }
            let n = errors.problems.len();
            tracing::warn!(
                "the configuration was not reloaded: {n} problem{} in {}; the running configuration stays",
                if n == 1 { "" } else { "s" },
                current.source.display()
            );
        }
        Err(err) => tracing::error!("the reload task failed: {err}"),
    }
    notify::ready(&board.line());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::eventually;

    fn accounts(text: &str) -> Vec<Account> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("candor.toml");
        std::fs::write(&path, text).unwrap();
        config::load(&path).unwrap().accounts
    }

    fn account(name: &str, port: u16) -> String {
        format!(
            "[[account]]\nname = \"{name}\"\nowner_name = \"O\"\nowner_addresses = [\"{name}@a.example\"]\n\
             timezone = \"UTC\"\n[account.imap]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n\
             username = \"u\"\npassword_command = \"true\"\n[account.smtp]\nhost = \"127.0.0.1\"\n\
             port = 25\ntls = \"none\"\nusername = \"u\"\npassword_command = \"true\"\n"
        )
    }

    #[test]
    fn diff_sorts_accounts_into_added_removed_changed_and_unchanged() {
        let before = accounts(&format!(
            "{}{}{}",
            account("a", 1),
            account("b", 2),
            account("c", 3)
        ));
        let after = accounts(&format!(
            "{}{}{}",
            account("a", 1),
            account("c", 4),
            account("d", 5)
        ));
        let changes = diff(&before, &after);
        assert_eq!(changes.added, ["d"]);
        assert_eq!(changes.removed, ["b"]);
        assert_eq!(changes.changed, ["c"]);
        assert_eq!(changes.unchanged, ["a"]);
        assert_eq!(diff(&after, &after).unchanged.len(), 3);
    }

    /// Regression (review): `sync_forever` returned for good when `ensure_account` failed once
    /// (a full disk, simulated by a trigger), and nothing noticed: the account stayed dead until
    /// a restart. Now the end shows as `failed` and the task is started again.
    #[tokio::test(flavor = "multi_thread")]
    async fn an_account_task_that_ends_is_restarted() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("candor.toml");
        let text = account("jane", port).replace(
            "password_command = \"true\"",
            "password_command = \"echo pw\"",
        );
        std::fs::write(
            &path,
            format!("{text}[account.digest]\nschedule = \"off\"\n"),
        )
        .unwrap();
        let config = config::load(&path).unwrap();
        let store = Store::open_in_memory().unwrap();
        store
            .call(|tx| {
                tx.execute_batch(
                    "CREATE TRIGGER full BEFORE INSERT ON accounts \
                     BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;",
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let (stop, shutdown) = watch::channel(false);
        let board = StatusBoard::new(store.clone(), Clock::system());
        let mut accounts = Accounts::new(
            store.clone(),
            Clock::system(),
            board.clone(),
            Arc::new(Templates::load(None).unwrap()),
            shutdown,
        );
        accounts.apply(&config.accounts).await;
        assert!(
            eventually(Duration::from_secs(10), || board
                .line()
                .contains("jane failed"))
            .await,
            "the account's end was not noticed: {}",
            board.line()
        );
        assert_eq!(connections.load(Ordering::SeqCst), 0);
        store
            .call(|tx| {
                tx.execute_batch("DROP TRIGGER full;")?;
                Ok(())
            })
            .await
            .unwrap();
        let connected = eventually(Duration::from_secs(20), || {
            connections.load(Ordering::SeqCst) > 0
        })
        .await;
        let _ = stop.send(true);
        accounts.stop_all(STOP_WITHIN).await;
        assert!(
            connected,
            "the account never connected: its task ended and nothing restarted it"
        );
    }

    /// A panic in an account task is logged, shown as `failed` with its message, and the task
    /// runs again; a stop then ends the supervisor.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_panicking_account_task_is_shown_and_restarted() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let store = Store::open_in_memory().unwrap();
        let board = StatusBoard::new(store.clone(), Clock::system());
        let (stop, receiver) = watch::channel(false);
        let runs = Arc::new(AtomicUsize::new(0));
        let start = {
            let (runs, receiver) = (runs.clone(), receiver.clone());
            move || {
                let (runs, mut receiver) = (runs.clone(), receiver.clone());
                async move {
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        panic!("a bug in the sync");
                    }
                    stopped(&mut receiver).await;
                }
            }
        };
        let supervisor = tokio::spawn(supervise(
            "jane".to_owned(),
            "sync",
            receiver,
            Some(board.account("jane")),
            Clock::system(),
            start,
        ));
        assert!(
            eventually(Duration::from_secs(10), || runs.load(Ordering::SeqCst) >= 2).await,
            "the task was not started again after its panic"
        );
        let row = store
            .call(|tx| crate::store::status::get(tx, "jane"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.state, "failed");
        assert!(
            row.detail.contains("panicked: a bug in the sync"),
            "{}",
            row.detail
        );
        stop.send(true).unwrap();
        assert!(
            tokio::time::timeout(Duration::from_secs(5), supervisor)
                .await
                .is_ok(),
            "the supervisor did not end at the stop"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
