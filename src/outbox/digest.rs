//! Sending the digest (SPEC §10): at most once per slot, even across restarts. The digest row
//! and its outbox row are created in one transaction whose slot key is unique; the SMTP try
//! follows the outbox rules (a try with an unknown outcome is never repeated).

use anyhow::Context as _;
use jiff::Timestamp;
use rand::Rng as _;
use tokio::sync::watch;

use super::compose::{self, Envelope, Templates};
use super::smtp;
use crate::clock::Clock;
use crate::config::Account;
use crate::plan;
use crate::report::digest::{self, Digest};
use crate::report::schedule::{self, Slot};
use crate::store::Store;
use crate::store::ingest::{self, AccountId};
use crate::store::outbox::{self as rows, NewOutboxRow, OutboxRow};
use crate::store::{digests, mailbox};

/// The digest of `[start, end)` for the account, with the owner's current plan.
pub fn build(
    store: &Store,
    account: &Account,
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> anyhow::Result<Digest> {
    let plan = plan::plan_account(store, account, now)?;
    let name = account.name.clone();
    let all_rows: Vec<OutboxRow> = store.call_blocking(move |tx| {
        let id = mailbox::account_id(tx, &name)?;
        match id {
            Some(id) => rows::rows(tx, Some(id)),
            None => Ok(Vec::new()),
        }
    })?;
    Ok(digest::build(&plan, account, &all_rows, start, end, now))
}

/// The period a digest made now would cover: since the previous digest (else one day or week).
pub fn current_period(
    store: &Store,
    account: &Account,
    end: Timestamp,
) -> anyhow::Result<(Timestamp, Timestamp)> {
    let name = account.name.clone();
    let previous: Option<i64> = store.call_blocking(move |tx| {
        Ok(match mailbox::account_id(tx, &name)? {
            Some(id) => digests::last(tx, id)?.map(|d| d.period_end),
            None => None,
        })
    })?;
    let previous = previous.and_then(|p| Timestamp::from_second(p).ok());
    // Whole seconds: `stats --since/--until` take whole seconds and the store keeps them, so a
    // digest's figures can be checked with exactly the bounds it prints.
    let end = Timestamp::from_second(end.as_second()).unwrap_or(end);
    Ok((
        schedule::period_start(account.digest.schedule, previous, end),
        end,
    ))
}

/// The period `digest --print` shows: [`current_period`] up to the end of the current second,
/// so that what happened in the second the preview is asked (the drafts of a `run --once` just
/// before it) is listed. A sent digest ends at the start of its second instead, and the next
/// period begins there: what happened in that second is in the next digest, never in none.
pub fn preview_period(
    store: &Store,
    account: &Account,
    now: Timestamp,
) -> anyhow::Result<(Timestamp, Timestamp)> {
    current_period(store, account, crate::clock::end_of_second(now))
}

/// What happened to a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// This slot already had its digest.
    AlreadyDone,
    /// Handed over: the outbox row's final state (`sent`, `queued` for a retry, `failed`, `unknown`).
    Done { outbox_id: i64, state: String },
}

/// Creates and sends the digest for `slot` (a scheduled one) or, with `None`, a manual one now.
///
/// Once `stop` is true no SMTP transaction begins: a digest made by then stays `queued` for the
/// next start (see [`deliver`]).
pub async fn send(
    store: &Store,
    account: &Account,
    templates: &Templates,
    slot: Option<Slot>,
    clock: Clock,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Sent> {
    let now = clock.now();
    let (slot_name, end) = match &slot {
        Some(s) => (s.name.clone(), s.at),
        None => (format!("manual:{}", now.as_second()), now),
    };
    let (store2, account2) = (store.clone(), account.clone());
    let slot_check = slot_name.clone();
    let exists = store
        .call(move |tx| {
            let id = ingest::ensure_account(tx, &account2.name, now)?;
            digests::exists(tx, id, &slot_check)
        })
        .await?;
    if exists {
        return Ok(Sent::AlreadyDone);
    }
    let account3 = account.clone();
    let data = tokio::task::spawn_blocking(move || {
        let (start, end) = current_period(&store2, &account3, end)?;
        build(&store2, &account3, start, end, now).map(|d| (d, start, end))
    })
    .await
    .context("the digest task failed")??;
    let (digest, start, end) = data;
    let (text, html) = templates.render_digest(&digest)?;
    let owner = account
        .owner_addresses
        .first()
        .cloned()
        .context("the account has no owner address")?;
    let domain = owner
        .rsplit_once('@')
        .map(|(_, d)| d.to_owned())
        .unwrap_or_default();
    let message_id = format!(
        "candor.digest.{:016x}@{domain}",
        rand::rng().random::<u64>()
    );
    let mut envelope = Envelope {
        from_name: "candor".to_owned(),
        from_address: owner.clone(),
        to_name: account.owner_name.clone(),
        to_address: account.digest.to.clone(),
        subject: subject(&digest),
        in_reply_to: None,
        references: Vec::new(),
        message_id: message_id.clone(),
        kind: "digest".to_owned(),
        outbox_id: 0,
        account: account.name.clone(),
        date: now,
        digest: true,
    };
    let to = account.digest.to.clone();
    let name = account.name.clone();
    let created = store
        .call(move |tx| {
            let id: AccountId = ingest::ensure_account(tx, &name, now)?;
            if digests::exists(tx, id, &slot_name)? {
                return Ok(None);
            }
            // Its period began where the last digest handed over ended: the queued ones it
            // covers are not sent as well.
            digests::supersede_queued(tx, id, &slot_name, now.as_second())?;
            let row = rows::insert(
                tx,
                id,
                &NewOutboxRow {
                    candidate: &to,
                    recipient: &to,
                    kind: "digest",
                    state: "queued",
                    message_id: &message_id,
                    reply_to: None,
                    due: now.as_second(),
                    raw: b"",
                },
                now.as_second(),
            )?;
            envelope.outbox_id = row;
            let raw = compose::build(&envelope, text, html)?;
            tx.execute(
                "UPDATE outbox SET raw = ?2 WHERE id = ?1",
                rusqlite::params![row, raw],
            )?;
            digests::insert(
                tx,
                id,
                &slot_name,
                (start.as_second(), end.as_second()),
                row,
                now.as_second(),
            )?;
            Ok(Some(row))
        })
        .await?;
    let Some(outbox_id) = created else {
        return Ok(Sent::AlreadyDone);
    };
    let state = deliver(store, account, outbox_id, clock, stop).await?;
    Ok(Sent::Done { outbox_id, state })
}

/// The digest's subject: who waits on the owner, and what candor will send in the next 24 hours
/// (found in review: "0 follow-up(s) coming", and a closure after silence counted as a
/// follow-up).
fn subject(digest: &Digest) -> String {
    use crate::report::count;
    let closures = digest
        .coming
        .iter()
        .filter(|c| c.kind == "closure_silence")
        .count();
    let follow_ups = digest.coming.len() - closures;
    let coming = match (follow_ups, closures) {
        (_, 0) => count(follow_ups, "follow-up", "follow-ups"),
        (0, _) => count(closures, "closure", "closures"),
        _ => format!(
            "{} and {}",
            count(follow_ups, "follow-up", "follow-ups"),
            count(closures, "closure", "closures")
        ),
    };
    format!(
        "candor: {} waiting on you, {coming} coming ({})",
        digest.totals.awaiting_you, digest.period_end
    )
}

/// Sends one queued digest row by SMTP, following the outbox rules.
///
/// A stop asked for before the attempt leaves the row `queued`, its attempt count untouched:
/// the daemon's grace would otherwise cut a transaction begun during the stop, leaving the
/// digest `unknown` (found in review; the outbox cycle has the same rule).
pub async fn deliver(
    store: &Store,
    account: &Account,
    id: i64,
    clock: Clock,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<String> {
    if super::stop_asked(stop) {
        return Ok("queued".to_owned());
    }
    let now_s = clock.now().as_second();
    if !super::begin_attempt(store, id, now_s, rows::Channel::Smtp).await? {
        return Ok("not queued".to_owned());
    }
    let raw = store.call(move |tx| rows::raw(tx, id)).await?;
    let row = store
        .call(move |tx| rows::get(tx, id))
        .await?
        .context("the digest row vanished")?;
    let from = account.owner_addresses.first().cloned().unwrap_or_default();
    let outcome = smtp::submit(&account.smtp.server, &from, &row.recipient, &raw).await;
    let now_s = clock.now().as_second();
    let (state, why) = match outcome {
        smtp::Outcome::Accepted => ("sent", String::new()),
        smtp::Outcome::Permanent(why) => ("failed", why),
        smtp::Outcome::Unknown(why) => ("unknown", why),
        smtp::Outcome::Transient(why) => {
            let at = now_s + 300;
            store
                .call(move |tx| rows::retry_later(tx, id, at, &why, now_s))
                .await?;
            return Ok("queued".to_owned());
        }
    };
    if state != "sent" {
        tracing::warn!(account = %account.name, "the digest is {state}: {why}");
    } else {
        tracing::info!(account = %account.name, to = %row.recipient, "digest sent");
    }
    store
        .call(move |tx| rows::set_state(tx, id, state, &why, now_s))
        .await?;
    Ok(state.to_owned())
}

/// Digest rows waiting for a retry, and rows a crash left `sending` (then `unknown`: never twice).
/// With `retry` false, a queued row is left for the next digest to supersede (the next slot is
/// near: sending it now would make two digests minutes apart).
pub async fn retry_pending(
    store: &Store,
    account: &Account,
    clock: Clock,
    retry: bool,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let name = account.name.clone();
    let now_s = clock.now().as_second();
    let pending: Vec<OutboxRow> = store
        .call(move |tx| {
            let id = mailbox::account_id(tx, &name)?;
            Ok(rows::rows(tx, id)?
                .into_iter()
                .filter(|r| r.kind == "digest" && matches!(r.state.as_str(), "queued" | "sending"))
                .collect())
        })
        .await?;
    for row in pending {
        let id = row.id;
        if row.state == "sending" {
            let why = "interrupted during the SMTP transaction: not resent";
            store
                .call(move |tx| rows::set_state(tx, id, "unknown", why, now_s))
                .await?;
        } else if retry && row.next_try_at.unwrap_or(0) <= now_s {
            deliver(store, account, id, clock, stop).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The demo's digest, printed in the second its `run --once` drafted three emails, said
    /// "SENT OR DRAFTED SINCE THE LAST SUMMARY (0)": its period ended at the start of that second.
    #[test]
    fn a_preview_covers_the_second_it_is_asked_in() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let account = crate::config::loopback_account("dry-run", 9, 25, "");
        let store = Store::open_in_memory().unwrap();
        let (_, end) = preview_period(&store, &account, at("2026-11-28T06:05:14.25Z")).unwrap();
        assert_eq!(end, at("2026-11-28T06:05:15Z"));
        // Asked at a whole second (a `--now` clock at its start), it still covers that second.
        let (_, end) = preview_period(&store, &account, at("2026-11-28T06:05:14Z")).unwrap();
        assert_eq!(end, at("2026-11-28T06:05:15Z"));
        let (_, end) = current_period(&store, &account, at("2026-11-28T06:05:14.25Z")).unwrap();
        assert_eq!(
            end,
            at("2026-11-28T06:05:14Z"),
            "a sent digest ends where the next begins"
        );
    }

    /// Found in review: the subject said "0 follow-up(s) coming", and counted a closure after
    /// silence among the follow-ups.
    #[test]
    fn the_subject_counts_follow_ups_and_closures_apart_in_good_english() {
        let [mut digest, _] = Digest::samples();
        let one = digest.coming[0].clone();
        let closure = digest::Coming {
            kind: "closure_silence".to_owned(),
            what: "closure after silence".to_owned(),
            ..one.clone()
        };
        let subject_with = |digest: &mut Digest, coming: Vec<digest::Coming>| {
            digest.coming = coming;
            subject(digest)
        };
        assert_eq!(
            subject_with(&mut digest, vec![one.clone()]),
            "candor: 1 waiting on you, 1 follow-up coming (Tue 3 Mar 08:00)"
        );
        assert_eq!(
            subject_with(&mut digest, vec![]),
            "candor: 1 waiting on you, 0 follow-ups coming (Tue 3 Mar 08:00)"
        );
        assert_eq!(
            subject_with(&mut digest, vec![closure.clone()]),
            "candor: 1 waiting on you, 1 closure coming (Tue 3 Mar 08:00)"
        );
        assert_eq!(
            subject_with(&mut digest, vec![one.clone(), one, closure]),
            "candor: 1 waiting on you, 2 follow-ups and 1 closure coming (Tue 3 Mar 08:00)"
        );
    }

    /// Regression (review): the digest had no stop flag. A stop asked for while the digest task
    /// was making its digest still began the SMTP transaction, which the daemon's grace could
    /// cut, leaving the digest `unknown` (never sent). Now the digest made during a stop stays
    /// `queued`, no connection is opened, and the next start sends it.
    #[tokio::test]
    async fn a_digest_made_during_a_stop_stays_queued_for_the_next_start() {
        // The SMTP server: counts the connections it is offered and answers none.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (offered, mut connections) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
                let _ = offered.send(());
            }
        });
        let account = crate::config::loopback_account("dry-run", 9, port, "");
        let store = Store::open_in_memory().unwrap();
        let templates = Templates::load(None).unwrap();
        let clock = Clock::system();
        let (asked, stop) = watch::channel(true);

        let sent = send(&store, &account, &templates, None, clock, &stop)
            .await
            .unwrap();
        let Sent::Done { outbox_id, state } = sent else {
            panic!("no digest was made: {sent:?}");
        };
        assert_eq!(state, "queued");
        let row =
            || store.call(move |tx| rows::get(tx, outbox_id).map(|r| r.expect("the digest row")));
        let queued = row().await.unwrap();
        assert_eq!((queued.state.as_str(), queued.attempts), ("queued", 0));
        assert!(
            connections.try_recv().is_err(),
            "an SMTP connection was opened after the stop"
        );

        // The next start (no stop) tries it: the attempt is made, here meeting a server that
        // hangs up (a temporary error), so the row waits for its retry, still queued.
        asked.send(false).unwrap();
        retry_pending(&store, &account, clock, true, &stop)
            .await
            .unwrap();
        let tried = row().await.unwrap();
        assert_eq!((tried.state.as_str(), tried.attempts), ("queued", 1));
        tokio::time::timeout(Duration::from_secs(5), connections.recv())
            .await
            .expect("the next start opened no SMTP connection")
            .unwrap();
    }
}
