//! The daemon and the one-shot cycles: the only module that spawns tasks.
//!
//! `candor run` spawns one long-lived sync task per account; each keeps one IMAP connection,
//! syncs every folder, then waits on the Inbox with IDLE (re-issued at least every 10 minutes,
//! the other folders re-checked at least every 5 minutes), or polls where the server has no
//! IDLE. Errors are sorted into three classes: fatal (the process exits non-zero), transient
//! (reconnect with exponential backoff and jitter) and per-item (recorded by the sync, skipped).

mod account;
mod digest;
mod housekeeping;
pub mod notify;
pub mod reload;
mod signals;

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

/// Gives the memory freed since the last call back to the system, after the daemon's heavy
/// steps (a sync, a plan, a digest), which allocate in many small pieces. glibc keeps freed
/// memory in its heaps, and a few long-lived allocations made during those steps (SQLite's page
/// cache among them) pin the pages around them: on the 100k-message mailbox of issue 4 the idle
/// daemon stayed at 190–260 MB RSS after its first cycle with under 30 MB in use, and at about
/// 40 MB once trimmed. The call walks the heaps' free chunks: 16 ms after that first cycle, µs
/// after a cycle with nothing to give back.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's heaps to the kernel; it
    // takes the heaps' locks like any allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

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
        let report = imap::sync_account(
            store,
            account_id,
            &mut session,
            &account.imap,
            &plan,
            &threads,
            clock,
        )
        .await?;
        let cycle = match templates {
            Some(templates) => {
                let mailbox = outbox::Mailbox {
                    session: &mut session,
                    folders: &plan,
                    threads: &threads,
                };
                // A one-shot pass is not stopped from within: a signal ends the process.
                let never = watch::channel(false).1;
                let cycle = outbox::cycle(
                    store, account, account_id, mailbox, templates, clock, &never,
                )
                .await?;
                // A full cycle includes the digest of a slot that is due: a decided closure may
                // wait for a digest to list it (SPEC §6), and `run --once` from a timer is the
                // only runner some owners have (found in review: it never sent one).
                digest::digest_once(store, account, templates, clock, &never).await;
                Some(cycle)
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
    // --- issue 8 (service): signals, READY, status, watchdog, reload, retention ---
    // The handlers first: from here on SIGTERM and SIGHUP are never lost (crates.md).
    let shutdown = Shutdown::install()?;
    let templates = std::sync::Arc::new(templates(&config)?);
    let board = notify::StatusBoard::new(store.clone(), clock);
    let mut accounts = reload::Accounts::new(
        store.clone(),
        clock,
        board.clone(),
        templates,
        shutdown.subscribe(),
    );
    // READY: the configuration is valid and the store open; no mail server was contacted yet.
    let n = config.accounts.len();
    notify::ready(&format!(
        "{n} account{}: starting",
        if n == 1 { "" } else { "s" }
    ));
    tracing::info!(accounts = n, store = %store.path().display(), "candor is running");
    accounts.apply(&config.accounts).await;
    let watchdog = notify::spawn_watchdog(store.clone(), shutdown.subscribe());
    let retention_days: housekeeping::RetentionDays = std::sync::Arc::new(
        std::sync::atomic::AtomicU32::new(config.storage.retention_days),
    );
    let chores = housekeeping::spawn(
        store.clone(),
        clock,
        retention_days.clone(),
        shutdown.subscribe(),
    );
    let mut config = config;
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = shutdown.reload_requested() => {
                reload::reload(&mut config, &mut accounts, &board).await;
                retention_days.store(config.storage.retention_days, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
    notify::stopping();
    tracing::info!("stopping");
    // A password lookup under way is abandoned: it runs on a blocking thread, which the
    // runtime's exit would wait for (up to the command's 30 s).
    crate::config::stop_password_commands();
    accounts.stop_all(reload::STOP_WITHIN).await;
    board.all_stopped().await;
    chores.abort();
    if let Some(watchdog) = watchdog {
        watchdog.abort();
    }
    // --- end of issue 8 ---
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

/// Polls `condition` every 50 ms until it holds or `within` has passed (the service's tests).
#[cfg(test)]
async fn eventually(within: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    condition()
}
