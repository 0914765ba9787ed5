//! Telling systemd and `candor status` what the daemon does: sd_notify messages (READY,
//! RELOADING, STOPPING, STATUS, WATCHDOG) and the per-account status board behind them.
//!
//! Every sd_notify call is a no-op without `NOTIFY_SOCKET`, so the daemon behaves the same in a
//! terminal. A failed notification is logged once at debug and otherwise ignored: systemd not
//! hearing from us is its business (it restarts us on a missed watchdog), not a reason to stop.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::stopped;
use crate::clock::Clock;
use crate::store::Store;
use crate::store::{ingest, status};

fn send(states: &[NotifyState<'_>]) {
    if let Err(err) = sd_notify::notify(states) {
        tracing::debug!("sd_notify failed: {err}");
    }
}

/// READY=1: the configuration is valid, the store open, the signal handlers in place.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// RELOADING=1, at the start of a SIGHUP reload (READY=1 follows it).
pub fn reloading() {
    send(&[
        NotifyState::Reloading,
        NotifyState::Status("reloading the configuration"),
    ]);
}

/// STOPPING=1, as soon as a stop is asked for.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}

/// Sends WATCHDOG=1 at half the period systemd asked for (`WatchdogSec=`), as long as the store
/// answers: a daemon whose store is wedged gets restarted instead of pretending to be alive.
pub fn spawn_watchdog(store: Store, mut shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    let period = sd_notify::watchdog_enabled()?;
    let every = (period / 2).max(Duration::from_millis(10));
    tracing::debug!(
        period_ms = period.as_millis() as u64,
        "systemd watchdog enabled"
    );
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stopped(&mut shutdown) => return,
            }
            match tokio::time::timeout(every, store.data_version()).await {
                Ok(Ok(_)) => send(&[NotifyState::Watchdog]),
                Ok(Err(err)) => tracing::error!("the store does not answer: {err:#}"),
                Err(_) => tracing::error!("the store did not answer within {every:?}"),
            }
        }
    }))
}

/// What an account's task is doing, as `candor status` and systemd's STATUS= show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountState {
    Connecting,
    Syncing,
    Idle,
    Polling,
    Reconnecting,
    AuthPaused,
    /// The account's task ended or panicked without being asked to; it is restarted after a
    /// backoff (`service::reload`).
    Failed,
    Stopped,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Connecting => "connecting",
            AccountState::Syncing => "syncing",
            AccountState::Idle => "idle",
            AccountState::Polling => "polling",
            AccountState::Reconnecting => "reconnecting",
            AccountState::AuthPaused => "auth_paused",
            AccountState::Failed => "failed",
            AccountState::Stopped => "stopped",
        }
    }
}

/// The states of every account, in name order; one STATUS= line is made from it.
#[derive(Clone)]
pub struct StatusBoard {
    states: Arc<Mutex<BTreeMap<String, AccountState>>>,
    store: Store,
    clock: Clock,
}

impl StatusBoard {
    pub fn new(store: Store, clock: Clock) -> StatusBoard {
        StatusBoard {
            states: Arc::default(),
            store,
            clock,
        }
    }

    /// The handle an account's tasks report through.
    pub fn account(&self, name: &str) -> AccountStatus {
        AccountStatus {
            board: self.clone(),
            name: name.to_owned(),
        }
    }

    /// Forgets an account removed by a reload, in the board and in the store.
    pub async fn remove(&self, name: &str) {
        if let Ok(mut states) = self.states.lock() {
            states.remove(name);
        }
        let name = name.to_owned();
        let result = self
            .store
            .call_relaxed(
                move |tx| match crate::store::mailbox::account_id(tx, &name)? {
                    Some(id) => status::remove(tx, id),
                    None => Ok(()),
                },
            )
            .await;
        if let Err(err) = result {
            tracing::debug!("cannot remove a status row: {err:#}");
        }
        self.publish();
    }

    /// On the way out: every row of this daemon says `stopped`.
    pub async fn all_stopped(&self) {
        let (pid, now) = (i64::from(std::process::id()), self.clock.now().as_second());
        if let Err(err) = self
            .store
            .call_relaxed(move |tx| status::mark_stopped(tx, pid, now))
            .await
        {
            tracing::debug!("cannot record the stop: {err:#}");
        }
    }

    /// "2 accounts: jane idle, tom reconnecting".
    pub fn line(&self) -> String {
        let Ok(states) = self.states.lock() else {
            return String::new();
        };
        let each: Vec<String> = states
            .iter()
            .map(|(name, state)| format!("{name} {}", state.as_str()))
            .collect();
        let n = each.len();
        format!(
            "{n} account{}: {}",
            if n == 1 { "" } else { "s" },
            each.join(", ")
        )
    }

    fn publish(&self) {
        let line = self.line();
        send(&[NotifyState::Status(&line)]);
    }
}

/// One account's reporter.
#[derive(Clone)]
pub struct AccountStatus {
    board: StatusBoard,
    name: String,
}

impl AccountStatus {
    /// Records the account's state: in the STATUS= line at once, in the store for `candor
    /// status`. `next` is the next scheduled action and when, if known. `detail` must hold no
    /// secret (error texts of candor hold none: SPEC §12).
    pub async fn set(
        &self,
        state: AccountState,
        detail: &str,
        next: Option<(&str, jiff::Timestamp)>,
    ) {
        let changed = match self.board.states.lock() {
            Ok(mut states) => states.insert(self.name.clone(), state) != Some(state),
            Err(_) => false,
        };
        if changed {
            self.board.publish();
        }
        let (name, detail) = (self.name.clone(), detail.to_owned());
        let (action, at) = match next {
            Some((action, at)) => (action.to_owned(), Some(at.as_second())),
            None => (String::new(), None),
        };
        let now = self.board.clock.now();
        let pid = i64::from(std::process::id());
        let result = self
            .board
            .store
            // Runtime state, rewritten at every change: no need to wait for the disk.
            .call_relaxed(move |tx| {
                let id = ingest::ensure_account(tx, &name, now)?;
                status::set(
                    tx,
                    id,
                    pid,
                    state.as_str(),
                    &detail,
                    (&action, at),
                    now.as_second(),
                )
            })
            .await;
        if let Err(err) = result {
            tracing::debug!(account = %self.name, "cannot record the status: {err:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_status_line_names_every_account_in_order_and_the_store_keeps_the_state() {
        let store = Store::open_in_memory().unwrap();
        let board = StatusBoard::new(store.clone(), Clock::system());
        let tom = board.account("tom");
        let jane = board.account("jane");
        tom.set(AccountState::Reconnecting, "connection refused", None)
            .await;
        jane.set(AccountState::Idle, "", None).await;
        assert_eq!(board.line(), "2 accounts: jane idle, tom reconnecting");
        let row = store
            .call(|tx| status::get(tx, "tom"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.state, "reconnecting");
        assert_eq!(row.detail, "connection refused");
        board.remove("tom").await;
        assert_eq!(board.line(), "1 account: jane idle");
        board.all_stopped().await;
        let row = store.call(|tx| status::get(tx, "jane")).await.unwrap();
        assert_eq!(row.unwrap().state, "stopped");
    }
}
