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

    /// Starts the tasks of one account.
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
        let mut tasks = vec![tokio::spawn(account::sync_forever(
            self.store.clone(),
            account.clone(),
            self.templates.subscribe(),
            self.clock,
            receiver.clone(),
            self.reloaded.subscribe(),
            self.board.account(&account.name),
        ))];
        // The digest task lives and dies with its account (a reload restarts both).
        tasks.push(tokio::spawn(super::digest::digest_forever(
            self.store.clone(),
            account.clone(),
            self.templates.subscribe(),
            self.clock,
            receiver.clone(),
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

/// Longest wait for an account's tasks to end after their stop flag is set. Their own budget is
/// shorter: an in-flight send gets 4 s, then DONE and LOGOUT 3 s each at most.
pub const STOP_WITHIN: Duration = Duration::from_millis(8_500);

async fn stop(going: Vec<Running>, deadline: Instant) {
    for running in &going {
        let _ = running.stop.send(true);
    }
    for running in going {
        for task in running.tasks {
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => {
                    tracing::error!(account = %running.account.name, "an account task failed: {err}")
                }
                Err(_) => {
                    tracing::warn!(account = %running.account.name, "an account task did not stop in time")
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
}
