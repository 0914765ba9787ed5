//! `storage.retention_days` (SPEC §11): message data older than the retention period leaves the
//! store, run daily by the daemon.
//!
//! A thread goes as a whole once its newest message is older than the cutoff: cutting threads in
//! half would leave conversations whose start is missing, and latency measured against nothing.
//! Outbox rows are the audit trail of what candor sent: a finished row is kept for the whole
//! period after it finished, and rows still in flight (`queued`, `sending`) are never touched.
//! The owner's per-candidate decisions and merges go when nothing about the person is left;
//! marks (`candidate add` / `exclude`) are the owner's standing instructions and stay.

use std::collections::HashSet;

use rusqlite::{Transaction, params};

use crate::store::recipients;

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
    // 0, not yet grouped) one by one. Their locations follow by ON DELETE CASCADE.
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
    pruned.decisions += prune_orphan_decisions(tx, cutoff)?;
    Ok(pruned)
}

/// Deletes the per-candidate decisions and merges older than `cutoff` about addresses that no
/// message (From, To, Cc, Reply-To) and no outbox row of the account mentions any more.
fn prune_orphan_decisions(tx: &Transaction<'_>, cutoff: i64) -> anyhow::Result<usize> {
    let mut states: Vec<(i64, String)> = Vec::new();
    let mut stmt =
        tx.prepare("SELECT account_id, address FROM candidate_states WHERE updated_at < ?1")?;
    for row in stmt.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?)))? {
        states.push(row?);
    }
    let mut merges: Vec<(i64, String, String)> = Vec::new();
    let mut stmt =
        tx.prepare("SELECT account_id, address, into_address FROM candidate_merges WHERE at < ?1")?;
    for row in stmt.query_map([cutoff], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
        merges.push(row?);
    }
    // Usually nothing is that old, and the addresses need not be read.
    if states.is_empty() && merges.is_empty() {
        return Ok(0);
    }
    let asked: HashSet<(i64, String)> = states
        .iter()
        .cloned()
        .chain(merges.iter().flat_map(|(account, address, into)| {
            [(*account, address.clone()), (*account, into.clone())]
        }))
        .collect();
    let live = mentioned_addresses(tx, &asked)?;
    let mentioned = |account: i64, address: &str| live.contains(&(account, address.to_owned()));
    let mut pruned = 0;
    for (account, address) in &states {
        if !mentioned(*account, address) {
            pruned += tx.execute(
                "DELETE FROM candidate_states WHERE account_id = ?1 AND address = ?2",
                params![account, address],
            )?;
        }
    }
    for (account, address, into) in &merges {
        if !mentioned(*account, address) && !mentioned(*account, into) {
            pruned += tx.execute(
                "DELETE FROM candidate_merges WHERE account_id = ?1 AND address = ?2",
                params![account, address],
            )?;
        }
    }
    Ok(pruned)
}

/// Those of the `asked` (account, address) pairs that a stored message or an outbox row
/// mentions. One pass over the messages, keeping only what was asked about.
fn mentioned_addresses(
    tx: &Transaction<'_>,
    asked: &HashSet<(i64, String)>,
) -> anyhow::Result<HashSet<(i64, String)>> {
    let mut live = HashSet::new();
    let mut note = |account: i64, address: String| {
        let pair = (account, address);
        if asked.contains(&pair) {
            live.insert(pair);
        }
    };
    let mut stmt = tx.prepare("SELECT account_id, from_addr, recipients FROM messages")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let account: i64 = r.get(0)?;
        note(account, r.get(1)?);
        let stored: String = r.get(2)?;
        for recipient in recipients::decode(&stored) {
            note(account, recipient.address.into_owned());
        }
    }
    let mut stmt = tx.prepare("SELECT account_id, candidate, recipient FROM outbox")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let account: i64 = r.get(0)?;
        note(account, r.get(1)?);
        note(account, r.get(2)?);
    }
    Ok(live)
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
        let to = [crate::mail::Address {
            address: to.to_owned(),
            name: None,
        }];
        tx.execute(
            "INSERT INTO messages (account_id, key, message_id, stable_hash, from_addr, subject, internal_date,
                 time, class, body_text, stored_at, thread_id, recipients)
             VALUES (?1, ?2, ?2, ?2, ?3, 'Backend role', ?4, ?4, 'human', 'Hello from ' || ?3, ?4, ?5, ?6)",
            params![account.0, key, from, time, thread, recipients::encode(&to, &[], &[])],
        )
        .unwrap();
        tx.last_insert_rowid()
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
                // Merges: one between two people nothing mentions, one into a live address.
                tx.execute(
                    "INSERT INTO candidate_merges (account_id, address, into_address, at) VALUES
                         (?1, 'gone2@x.example', 'gone@x.example', ?2),
                         (?1, 'alias@x.example', 'new@x.example', ?2)",
                    params![id.0, 800 * DAY],
                )?;
                let pruned = prune(tx, cut)?;
                assert_eq!(pruned.messages, 3, "{pruned:?}");
                assert_eq!(pruned.outbox, 2, "the old sent row and the old unknown row: {pruned:?}");
                assert_eq!(pruned.decisions, 2, "{pruned:?}");
                assert_eq!(
                    count(tx, "SELECT count(*) FROM candidate_merges WHERE address = 'alias@x.example'"),
                    1
                );
                assert_eq!(count(tx, "SELECT count(*) FROM messages"), 2);
                assert_eq!(count(tx, "SELECT count(*) FROM messages WHERE key = 'b1'"), 1);
                assert_eq!(count(tx, "SELECT count(*) FROM messages WHERE recipients != ''"), 2);
                assert_eq!(count(tx, "SELECT count(*) FROM outbox WHERE state = 'queued'"), 1);
                assert_eq!(count(tx, "SELECT count(*) FROM candidate_states"), 1);
                // A second run finds nothing more.
                assert!(prune(tx, cut)?.is_empty());
                Ok(())
            })
            .unwrap();
    }
}
