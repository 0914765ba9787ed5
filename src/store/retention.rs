//! `storage.retention_days` (SPEC §11): message data older than the retention period leaves the
//! store, run daily by the daemon.
//!
//! A thread goes as a whole once its newest message is older than the cutoff: cutting threads in
//! half would leave conversations whose start is missing, and latency measured against nothing.
//! Outbox rows are the audit trail of what candor sent: a finished row is kept for the whole
//! period after it finished, and rows still in flight (`queued`, `sending`) are never touched.
//! The owner's per-candidate decisions and merges go when nothing about the person is left;
//! marks (`candidate add` / `exclude`) are the owner's standing instructions and stay.

use rusqlite::{Transaction, params};

/// What one pruning removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub messages: usize,
    pub outbox: usize,
    pub skipped: usize,
    pub decisions: usize,
}

impl Pruned {
    pub fn is_empty(&self) -> bool {
        *self == Pruned::default()
    }
}

/// The unix second before which data is pruned.
pub fn cutoff(now: i64, retention_days: u32) -> i64 {
    now.saturating_sub(i64::from(retention_days).saturating_mul(86_400))
}

/// Removes, in every account, what is older than `cutoff` (unix seconds).
pub fn prune(tx: &Transaction<'_>, cutoff: i64) -> anyhow::Result<Pruned> {
    let mut pruned = Pruned::default();
    // Threaded messages: whole threads whose newest message is old. Unthreaded ones (thread_id
    // 0, not yet grouped) one by one. Locations and addresses follow by ON DELETE CASCADE.
    pruned.messages += tx.execute(
        "DELETE FROM messages WHERE thread_id != 0 AND (account_id, thread_id) IN (
             SELECT account_id, thread_id FROM messages WHERE thread_id != 0
             GROUP BY account_id, thread_id HAVING max(time) < ?1)",
        [cutoff],
    )?;
    pruned.messages += tx.execute(
        "DELETE FROM messages WHERE thread_id = 0 AND time < ?1",
        [cutoff],
    )?;
    pruned.outbox += tx.execute(
        "DELETE FROM outbox WHERE state NOT IN ('queued', 'sending')
             AND coalesce(done_at, updated_at) < ?1",
        [cutoff],
    )?;
    pruned.skipped += tx.execute("DELETE FROM skipped WHERE at < ?1", [cutoff])?;
    // Decisions about people of whom no message and no outbox row is left.
    let orphan =
        "NOT EXISTS (SELECT 1 FROM message_addresses ma JOIN messages m ON m.id = ma.message_id
                      WHERE m.account_id = {t}.account_id AND ma.address = {t}.{col})
                  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.account_id = {t}.account_id
                      AND (o.candidate = {t}.{col} OR o.recipient = {t}.{col}))";
    let sql = |table: &str, col: &str, time: &str| {
        format!(
            "DELETE FROM {table} WHERE {time} < ?1 AND {}",
            orphan.replace("{t}", table).replace("{col}", col)
        )
    };
    pruned.decisions += tx.execute(
        &sql("candidate_states", "address", "updated_at"),
        params![cutoff],
    )?;
    pruned.decisions += tx.execute(
        &format!(
            "{} AND {}",
            sql("candidate_merges", "address", "at"),
            orphan
                .replace("{t}", "candidate_merges")
                .replace("{col}", "into_address")
        ),
        params![cutoff],
    )?;
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::ingest::{AccountId, ensure_account};

    const DAY: i64 = 86_400;

    fn message(
        tx: &Transaction<'_>,
        account: AccountId,
        key: &str,
        from: &str,
        to: &str,
        time: i64,
        thread: i64,
    ) -> i64 {
        tx.execute(
            "INSERT INTO messages (account_id, key, message_id, stable_hash, from_addr, subject, internal_date,
                 time, class, body_text, stored_at, thread_id)
             VALUES (?1, ?2, ?2, ?2, ?3, 'Backend role', ?4, ?4, 'human', 'Hello from ' || ?3, ?4, ?5)",
            params![account.0, key, from, time, thread],
        )
        .unwrap();
        let id = tx.last_insert_rowid();
        for (field, address) in [("from", from), ("to", to)] {
            tx.execute(
                "INSERT INTO message_addresses (message_id, field, address) VALUES (?1, ?2, ?3)",
                params![id, field, address],
            )
            .unwrap();
        }
        id
    }

    fn count(tx: &Transaction<'_>, sql: &str) -> i64 {
        tx.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn old_threads_go_whole_recent_ones_stay_whole_and_in_flight_outbox_rows_stay() {
        let store = Store::open_in_memory().unwrap();
        let now = 1_000 * DAY;
        let cut = cutoff(now, 30);
        assert_eq!(cut, 970 * DAY);
        store
            .call_blocking(|tx| {
                let id = ensure_account(tx, "jane", jiff::Timestamp::from_second(0)?)?;
                // Old thread: both messages before the cutoff.
                let a = message(tx, id, "a1", "jane@agency.example", "old@x.example", 900 * DAY, 0);
                let a2 = message(tx, id, "a2", "old@x.example", "jane@agency.example", 901 * DAY, 0);
                tx.execute("UPDATE messages SET thread_id = ?1 WHERE id IN (?1, ?2)", params![a, a2])?;
                // Long thread with a recent answer: kept whole, its first message too.
                let b = message(tx, id, "b1", "jane@agency.example", "new@x.example", 900 * DAY, 0);
                let b2 = message(tx, id, "b2", "new@x.example", "jane@agency.example", 990 * DAY, 0);
                tx.execute("UPDATE messages SET thread_id = ?1 WHERE id IN (?1, ?2)", params![b, b2])?;
                // Not threaded yet, old.
                message(tx, id, "c1", "loose@x.example", "jane@agency.example", 10 * DAY, 0);
                for (n, (state, done, candidate)) in [
                    ("sent", Some(900 * DAY), "old@x.example"),
                    ("sent", Some(990 * DAY), "new@x.example"),
                    ("queued", None, "old@x.example"),
                    ("unknown", None, "old@x.example"),
                ]
                .into_iter()
                .enumerate()
                {
                    tx.execute(
                        "INSERT INTO outbox (account_id, candidate, recipient, kind, state, message_id, due, raw,
                             created_at, updated_at, done_at)
                         VALUES (?1, ?2, ?2, 'follow_up_1', ?3, ?4, 0, x'', 0, ?5, ?6)",
                        params![id.0, candidate, state, format!("o{n}"), done.unwrap_or(950 * DAY), done],
                    )?;
                }
                tx.execute(
                    "INSERT INTO candidate_states (account_id, address, paused, updated_at) VALUES (?1, 'gone@x.example', 1, ?2)",
                    params![id.0, 800 * DAY],
                )?;
                tx.execute(
                    "INSERT INTO candidate_states (account_id, address, paused, updated_at) VALUES (?1, 'new@x.example', 1, ?2)",
                    params![id.0, 800 * DAY],
                )?;
                let pruned = prune(tx, cut)?;
                assert_eq!(pruned.messages, 3, "{pruned:?}");
                assert_eq!(pruned.outbox, 2, "the old sent row and the old unknown row: {pruned:?}");
                assert_eq!(pruned.decisions, 1, "{pruned:?}");
                assert_eq!(count(tx, "SELECT count(*) FROM messages"), 2);
                assert_eq!(count(tx, "SELECT count(*) FROM messages WHERE key = 'b1'"), 1);
                assert_eq!(count(tx, "SELECT count(*) FROM message_addresses"), 4);
                assert_eq!(count(tx, "SELECT count(*) FROM outbox WHERE state = 'queued'"), 1);
                assert_eq!(count(tx, "SELECT count(*) FROM candidate_states"), 1);
                // A second run finds nothing more.
                assert!(prune(tx, cut)?.is_empty());
                Ok(())
            })
            .unwrap();
    }
}
