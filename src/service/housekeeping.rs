//! The daemon's daily chores: pruning message data past `storage.retention_days` (SPEC §11).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::stopped;
use crate::clock::Clock;
use crate::store::Store;
use crate::store::retention;

/// Once a day, the first time shortly after the start (after a long stop the data past the
/// period goes at once; a second pruning finds nothing and costs one cheap transaction).
const EVERY: Duration = Duration::from_secs(24 * 60 * 60);
const FIRST_AFTER: Duration = Duration::from_secs(2);

/// The retention period in days, changed by a reload.
pub type RetentionDays = Arc<AtomicU32>;

pub fn spawn(
    store: Store,
    clock: Clock,
    days: RetentionDays,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut wait = FIRST_AFTER;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stopped(&mut shutdown) => return,
            }
            wait = EVERY;
            let days = days.load(Ordering::Relaxed);
            let cutoff = retention::cutoff(clock.now().as_second(), days);
            match store.call(move |tx| retention::prune(tx, cutoff)).await {
                Ok(pruned) if pruned.is_empty() => {
                    tracing::debug!(days, "retention: nothing to prune")
                }
                Ok(pruned) => tracing::info!(
                    days,
                    messages = pruned.messages,
                    outbox = pruned.outbox,
                    skipped = pruned.skipped,
                    decisions = pruned.decisions,
                    "retention: pruned data older than storage.retention_days"
                ),
                Err(err) => tracing::error!("retention: pruning failed: {err:#}"),
            }
        }
    })
}
