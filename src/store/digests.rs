//! Queries of the digests (SPEC §10): one row per account and slot, so that a period's digest
//! is created at most once, even across restarts.

use rusqlite::{OptionalExtension as _, Transaction, params};

use crate::store::ingest::AccountId;

/// A digest that was created (and handed to the outbox).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestRow {
    pub slot: String,
    pub period_start: i64,
    pub period_end: i64,
    pub outbox_id: Option<i64>,
    pub created_at: i64,
    /// The state of its outbox row (`sent`, `queued`, `unknown`, ...).
    pub state: Option<String>,
}

/// The latest digest of the account that was handed over: one still queued (a temporary SMTP
/// error) or cancelled is not, and its period goes to the next digest, which supersedes it.
pub fn last(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<Option<DigestRow>> {
    Ok(tx
        .query_row(
            "SELECT d.slot, d.period_start, d.period_end, d.outbox_id, d.created_at, o.state
             FROM digests d LEFT JOIN outbox o ON o.id = d.outbox_id
             WHERE d.account_id = ?1
               AND (o.state IS NULL OR o.state NOT IN ('queued', 'cancelled'))
             ORDER BY d.period_end DESC, d.created_at DESC LIMIT 1",
            [account.0],
            |r| {
                Ok(DigestRow {
                    slot: r.get(0)?,
                    period_start: r.get(1)?,
                    period_end: r.get(2)?,
                    outbox_id: r.get(3)?,
                    created_at: r.get(4)?,
                    state: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// When the latest digest the owner received (its outbox row was sent) was built: what it lists
/// is what was known then. Not when the server took it: a digest built at 08:00 and retried
/// until 08:35 does not list a closure decided at 08:30 (found in review: that closure went out
/// without ever appearing in a digest).
pub fn last_sent_at(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<Option<i64>> {
    Ok(tx.query_row(
        "SELECT max(d.created_at) FROM digests d JOIN outbox o ON o.id = d.outbox_id
         WHERE d.account_id = ?1 AND o.state = 'sent'",
        [account.0],
        |r| r.get(0),
    )?)
}

/// Cancels the account's digests still queued for a retry: a newer digest covers their period
/// (see [`last`]). After an SMTP outage of three days the owner got three digests at once, two
/// of them stale (found in review). Returns how many were cancelled.
pub fn supersede_queued(
    tx: &Transaction<'_>,
    account: AccountId,
    by_slot: &str,
    now: i64,
) -> anyhow::Result<usize> {
    Ok(tx.execute(
        "UPDATE outbox SET state = 'cancelled', last_error = ?2, updated_at = ?3, done_at = ?3
         WHERE account_id = ?1 AND kind = 'digest' AND state = 'queued'",
        params![
            account.0,
            format!("superseded by the digest of {by_slot}, which covers its period"),
            now
        ],
    )?)
}

pub fn exists(tx: &Transaction<'_>, account: AccountId, slot: &str) -> anyhow::Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM digests WHERE account_id = ?1 AND slot = ?2",
            params![account.0, slot],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Records a digest for `slot`; false when that slot already has one (never twice).
pub fn insert(
    tx: &Transaction<'_>,
    account: AccountId,
    slot: &str,
    period: (i64, i64),
    outbox_id: i64,
    now: i64,
) -> anyhow::Result<bool> {
    let n = tx.execute(
        "INSERT INTO digests (account_id, slot, period_start, period_end, outbox_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account_id, slot) DO NOTHING",
        params![account.0, slot, period.0, period.1, outbox_id, now],
    )?;
    Ok(n == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::ingest::ensure_account;
    use crate::store::outbox::{self, NewOutboxRow};

    /// A digest of `slot` covering `period`, built at its end, its outbox row queued.
    fn queued_digest(
        tx: &Transaction<'_>,
        account: AccountId,
        slot: &str,
        period: (i64, i64),
    ) -> anyhow::Result<i64> {
        let row = outbox::insert(
            tx,
            account,
            &NewOutboxRow {
                candidate: "jane@agency.example",
                recipient: "jane@agency.example",
                kind: "digest",
                state: "queued",
                message_id: &format!("candor.digest.{slot}@agency.example"),
                reply_to: None,
                due: period.1,
                raw: b"",
            },
            period.1,
        )?;
        insert(tx, account, slot, period, row, period.1)?;
        Ok(row)
    }

    /// A digest built at 100 and accepted by the server at 200, after retries, lists what was
    /// known at 100.
    #[test]
    fn a_digest_lists_what_was_known_when_it_was_built_not_when_it_was_accepted() {
        let store = Store::open_in_memory().unwrap();
        let got = store
            .call_blocking(|tx| {
                let account = ensure_account(tx, "jane", jiff::Timestamp::UNIX_EPOCH)?;
                assert_eq!(last_sent_at(tx, account)?, None);
                let row = queued_digest(tx, account, "2026-03-02", (0, 100))?;
                assert_eq!(last_sent_at(tx, account)?, None, "not sent yet");
                outbox::set_state(tx, row, "sent", "", 200)?;
                last_sent_at(tx, account)
            })
            .unwrap();
        assert_eq!(got, Some(100));
    }

    /// Found in review: after an SMTP outage the digests of every slot missed went out together.
    /// A new digest cancels the queued ones and covers their periods.
    #[test]
    fn a_new_digest_supersedes_the_queued_ones_and_covers_their_periods() {
        let store = Store::open_in_memory().unwrap();
        store
            .call_blocking(|tx| {
                let account = ensure_account(tx, "jane", jiff::Timestamp::UNIX_EPOCH)?;
                let monday = queued_digest(tx, account, "2026-03-02", (0, 100))?;
                outbox::set_state(tx, monday, "sent", "", 100)?;
                let tuesday = queued_digest(tx, account, "2026-03-03", (100, 200))?;
                // Tuesday's is queued for a retry: Wednesday's starts where Monday's ended.
                assert_eq!(last(tx, account)?.map(|d| d.period_end), Some(100));
                assert_eq!(supersede_queued(tx, account, "2026-03-04", 300)?, 1);
                let wednesday = queued_digest(tx, account, "2026-03-04", (100, 300))?;
                let state = |id| outbox::get(tx, id).map(|r| r.map(|r| r.state));
                assert_eq!(state(tuesday)?.as_deref(), Some("cancelled"));
                assert_eq!(state(wednesday)?.as_deref(), Some("queued"));
                assert_eq!(last(tx, account)?.map(|d| d.period_end), Some(100));
                outbox::set_state(tx, wednesday, "sent", "", 310)?;
                assert_eq!(last(tx, account)?.map(|d| d.period_end), Some(300));
                Ok(())
            })
            .unwrap();
    }
}
