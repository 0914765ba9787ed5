//! One account's digest task: at the configured local time (daily or weekly), send the digest of
//! the period since the last one; after downtime, the latest missed slot is sent once, unless the
//! next slot is near (`schedule::due_slot`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::stopped;
use crate::clock::Clock;
use crate::config::Account;
use crate::outbox::compose::Templates;
use crate::outbox::digest::{self, Sent};
use crate::report::schedule;
use crate::store::{Store, mailbox};

/// Longest sleep between checks (retries of a digest that met a temporary SMTP error).
const CHECK_EVERY: Duration = Duration::from_secs(5 * 60);

pub async fn digest_forever(
    store: Store,
    account: Account,
    templates: watch::Receiver<Arc<Templates>>,
    clock: Clock,
    mut shutdown: watch::Receiver<bool>,
) {
    // With digests off there is no slot, but a digest sent by hand (`digest --send`) that met a
    // temporary error is still retried here (found in review: it stayed queued for good).
    let (at, day, tz) = (
        account.digest.at,
        account.digest.day,
        account.timezone.clone(),
    );
    loop {
        // The templates of the latest (re)loaded configuration.
        let current = templates.borrow().clone();
        digest_once(&store, &account, &current, clock, &shutdown).await;
        let wait = schedule::next_slot(account.digest.schedule, at, day, &tz, clock.now())
            .map(|next| {
                Duration::from_secs((next.at.as_second() - clock.now().as_second()).max(1) as u64)
            })
            .unwrap_or(CHECK_EVERY)
            .min(CHECK_EVERY);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped(&mut shutdown) => return,
        }
    }
}

/// What the digest task does at each wake-up, and `run --once` after its cycle: the due slot's
/// digest, if candor was following the account then, and the retries of digests that met a
/// temporary SMTP error. Problems are logged; the next wake-up tries again. Once `stop` is true
/// no SMTP transaction begins: what is made by then stays queued for the next start.
pub async fn digest_once(
    store: &Store,
    account: &Account,
    templates: &Templates,
    clock: Clock,
    stop: &watch::Receiver<bool>,
) {
    let (schedule, at, day, tz) = (
        account.digest.schedule,
        account.digest.at,
        account.digest.day,
        &account.timezone,
    );
    // The slot's digest first: it supersedes the digests still queued for a retry and covers
    // their periods, so that an SMTP outage ends with one digest, not one per slot.
    if let Some(slot) = schedule::due_slot(schedule, at, day, tz, clock.now())
        && tracked_at(store, account, slot.at).await
    {
        match digest::send(store, account, templates, Some(slot.clone()), clock, stop).await {
            Ok(Sent::AlreadyDone) => {}
            Ok(Sent::Done { state, .. }) => {
                tracing::info!(account = %account.name, slot = %slot.name, state = %state, "digest for the slot handed over")
            }
            Err(err) => {
                tracing::warn!(account = %account.name, "the digest could not be made: {err:#}")
            }
        }
    }
    let retry = !schedule::next_is_near(schedule, at, day, tz, clock.now());
    if let Err(err) = digest::retry_pending(store, account, clock, retry, stop).await {
        tracing::warn!(account = %account.name, "digest retry: {err:#}");
    }
    super::release_freed_memory();
}

/// Whether candor was already following the account at `slot` (its first sync ended before):
/// only then is a past slot a missed digest to catch up. A fresh install started at 06:59 must
/// not send yesterday's 08:00 digest ten seconds before today's.
async fn tracked_at(store: &Store, account: &Account, slot: jiff::Timestamp) -> bool {
    let name = account.name.clone();
    let first_sync = store
        .call(move |tx| match mailbox::account_id(tx, &name)? {
            Some(id) => mailbox::first_sync_at(tx, id),
            None => Ok(None),
        })
        .await;
    match first_sync {
        Ok(first) => first.is_some_and(|first| first <= slot.as_second()),
        Err(err) => {
            tracing::warn!(account = %account.name, "the digest cannot read the store: {err:#}");
            false
        }
    }
}
