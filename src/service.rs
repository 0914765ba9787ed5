//! The daemon and the one-shot cycles: the only module that spawns tasks.
//!
//! `candor run` spawns one long-lived sync task per account; each keeps one IMAP connection,
//! syncs every folder, then waits on the Inbox with IDLE (re-issued at least every 10 minutes,
//! the other folders re-checked at least every 5 minutes), or polls where the server has no
//! IDLE. Errors are sorted into three classes: fatal (the process exits non-zero), transient
//! (reconnect with exponential backoff and jitter) and per-item (recorded by the sync, skipped).

mod account;
mod signals;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{Account, Config};
use crate::conversations::Identity;
use crate::imap::{self, AccountSyncReport};
use crate::store::Store;
use crate::store::ingest;

pub use signals::Shutdown;

/// How often folders other than the Inbox are re-checked.
pub const FULL_SYNC_EVERY: Duration = Duration::from_secs(5 * 60);
/// Longest single IDLE before it is re-issued (servers drop IDLE after 30 minutes).
pub const IDLE_AT_MOST: Duration = Duration::from_secs(9 * 60);
/// Poll interval for servers without IDLE.
pub const POLL_EVERY: Duration = Duration::from_secs(60);

/// Connects to one account and syncs every folder once.
pub async fn sync_account_once(
    store: &Store,
    account: &Account,
    clock: Clock,
) -> anyhow::Result<AccountSyncReport> {
    let name = account.name.clone();
    let now = clock.now();
    let account_id = store
        .call(move |tx| ingest::ensure_account(tx, &name, now))
        .await?;
    let result = async {
        let mut session = imap::connect(&account.imap).await?;
        let plan = imap::discover_folders(&mut session, account).await?;
        report_plan_problems(account, &plan);
        let threads =
            imap::Threads::load(store, account_id, Identity::for_account(account)).await?;
        let report =
            imap::sync_account(store, account_id, &mut session, &plan, &threads, clock).await?;
        let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
        Ok::<_, anyhow::Error>(report)
    }
    .await;
    if let Err(err) = &result {
        let text = format!("{err:#}");
        store
            .call(move |tx| ingest::account_error(tx, account_id, &text))
            .await?;
    }
    result
}

fn report_plan_problems(account: &Account, plan: &imap::FolderPlan) {
    for missing in &plan.missing {
        tracing::warn!(account = %account.name, folder = %missing, "a configured folder does not exist on the server");
    }
    if plan.no_sent {
        tracing::warn!(account = %account.name, "no Sent folder found (SPECIAL-USE \\Sent): set [account.folders] sent, or the owner's replies stay invisible");
    }
}

/// `candor sync`: one pass over every account; returns per-account results in config order.
pub async fn sync_all_once(
    config: &Config,
    store: &Store,
    clock: Clock,
) -> Vec<(String, anyhow::Result<AccountSyncReport>)> {
    let mut results = Vec::new();
    for account in &config.accounts {
        let result = sync_account_once(store, account, clock)
            .await
            .with_context(|| format!("account {}", account.name));
        results.push((account.name.clone(), result));
    }
    results
}

/// `candor run`: the daemon. Returns when a shutdown signal arrives.
pub async fn run(config: Config, store: Store, clock: Clock) -> anyhow::Result<()> {
    let shutdown = Shutdown::install()?;
    tracing::info!(accounts = config.accounts.len(), store = %store.path().display(), "candor is running");
    let mut tasks = BTreeMap::new();
    for account in config.accounts.clone() {
        let store = store.clone();
        let watch = shutdown.subscribe();
        let name = account.name.clone();
        tasks.insert(
            name,
            tokio::spawn(account::sync_forever(store, account, clock, watch)),
        );
    }
    shutdown.wait().await;
    tracing::info!("stopping");
    for (name, task) in tasks {
        match tokio::time::timeout(Duration::from_secs(8), task).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(account = %name, "the sync task failed: {err}"),
            Err(_) => tracing::warn!(account = %name, "the sync task did not stop in time"),
        }
    }
    Ok(())
}

/// Resolves when the watched flag turns true.
pub(crate) async fn stopped(watch: &mut watch::Receiver<bool>) {
    while !*watch.borrow_and_update() {
        if watch.changed().await.is_err() {
            // The sender is gone: nobody can ask us to stop any more; behave as stopped.
            return;
        }
    }
}
