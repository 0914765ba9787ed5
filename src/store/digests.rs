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

/// The latest digest of the account.
pub fn last(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<Option<DigestRow>> {
    Ok(tx
        .query_row(
            "SELECT d.slot, d.period_start, d.period_end, d.outbox_id, d.created_at, o.state
             FROM digests d LEFT JOIN outbox o ON o.id = d.outbox_id
             WHERE d.account_id = ?1 ORDER BY d.period_end DESC, d.created_at DESC LIMIT 1",
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

/// When the owner last received a digest (its outbox row was sent).
pub fn last_sent_at(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<Option<i64>> {
    Ok(tx.query_row(
        "SELECT max(o.done_at) FROM digests d JOIN outbox o ON o.id = d.outbox_id
         WHERE d.account_id = ?1 AND o.state = 'sent'",
        [account.0],
        |r| r.get(0),
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
