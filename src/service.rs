//! The daemon and the one-shot cycles: the only module that spawns tasks.
//!
//! `candor run` spawns one long-lived sync task per account; each keeps one IMAP connection,
//! syncs every folder, then waits on the Inbox with IDLE (re-issued at least every 10 minutes,
//! the other folders re-checked at least every 5 minutes), or polls where the server has no
//! IDLE. Errors are sorted into three classes: fatal (the process exits non-zero), transient
//! (reconnect with exponential backoff and jitter) and per-item (recorded by the sync, skipped).

mod account;
mod digest;
mod signals;

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{Account, Config};
use crate::conversations::Identity;
use crate::imap::{self, AccountSyncReport};
use crate::outbox::{self, CycleReport, compose::Templates};
use crate::store::Store;
use crate::store::ingest;

pub use signals::Shutdown;

/// How often folders other than the Inbox are re-checked.
pub const FULL_SYNC_EVERY: Duration = Duration::from_secs(5 * 60);
/// Longest single IDLE before it is re-issued (servers drop IDLE after 30 minutes).
pub const IDLE_AT_MOST: Duration = Duration::from_secs(9 * 60);
/// Poll interval for servers without IDLE.
pub const POLL_EVERY: Duration = Duration::from_secs(60);

/// What one pass over an account did: the sync, and the outbox cycle when asked for.
pub type PassReport = (AccountSyncReport, Option<CycleReport>);

/// Connects to one account, syncs every folder once and, with `templates`, runs one outbox
/// cycle (`candor run --once`).
pub async fn pass_account_once(
    store: &Store,
    account: &Account,
    templates: Option<&Templates>,
    clock: Clock,
) -> anyhow::Result<PassReport> {
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
        let cycle = match templates {
            Some(templates) => {
                let mailbox = outbox::Mailbox {
                    session: &mut session,
                    folders: &plan,
                    threads: &threads,
                };
                Some(outbox::cycle(store, account, account_id, mailbox, templates, clock).await?)
            }
            None => None,
        };
        let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
        Ok::<_, anyhow::Error>((report, cycle))
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

/// The templates of the configuration: shipped defaults, overridden from `templates/` beside
/// the config file.
pub fn templates(config: &Config) -> anyhow::Result<Templates> {
    Templates::load(config.source.parent())
}

/// `candor sync` (without outbox) and `candor run --once` (with): one pass over every account;
/// returns per-account results in config order.
pub async fn pass_all_once(
    config: &Config,
    store: &Store,
    with_outbox: bool,
    clock: Clock,
) -> Vec<(String, anyhow::Result<PassReport>)> {
    let templates = if with_outbox {
        match templates(config) {
            Ok(t) => Some(t),
            Err(err) => return vec![("templates".to_owned(), Err(err))],
        }
    } else {
        None
    };
    let mut results = Vec::new();
    for account in &config.accounts {
        let result = pass_account_once(store, account, templates.as_ref(), clock)
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
    let templates = std::sync::Arc::new(templates(&config)?);
    for account in config.accounts.clone() {
        let store = store.clone();
        let watch = shutdown.subscribe();
        let name = account.name.clone();
        let digest_task = tokio::spawn(digest::digest_forever(
            store.clone(),
            account.clone(),
            templates.clone(),
            clock,
            shutdown.subscribe(),
        ));
        tasks.insert(format!("{name} digest"), digest_task);
        tasks.insert(
            name,
            tokio::spawn(account::sync_forever(
                store,
                account,
                templates.clone(),
                clock,
                watch,
            )),
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
