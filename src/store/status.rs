//! The daemon's per-account status record (`daemon_status`) and the read-only queries of
//! `candor status`, which runs beside the daemon.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension as _, Transaction, params};

use crate::store::ingest::AccountId;

/// What the daemon last said about one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DaemonStatus {
    pub pid: i64,
    /// connecting | syncing | sending | idle | polling | reconnecting | auth_paused | stopped
    pub state: String,
    pub detail: String,
    pub next_action: String,
    pub next_at: Option<i64>,
    pub since: i64,
    pub updated_at: i64,
}

/// Writes the account's status; `since` moves only when the state changes.
pub fn set(
    tx: &Transaction<'_>,
    account: AccountId,
    pid: i64,
    state: &str,
    detail: &str,
    next: (&str, Option<i64>),
    now: i64,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO daemon_status (account_id, pid, state, detail, next_action, next_at, since, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         ON CONFLICT (account_id) DO UPDATE SET
             since = CASE WHEN daemon_status.state = excluded.state AND daemon_status.pid = excluded.pid
                          THEN daemon_status.since ELSE excluded.since END,
             pid = excluded.pid, state = excluded.state, detail = excluded.detail,
             next_action = excluded.next_action, next_at = excluded.next_at,
             updated_at = excluded.updated_at",
        params![account.0, pid, state, detail, next.0, next.1, now],
    )?;
    Ok(())
}

/// The status of the account named `name`, if a daemon ever wrote one.
pub fn get(tx: &Transaction<'_>, name: &str) -> anyhow::Result<Option<DaemonStatus>> {
    Ok(tx
        .query_row(
            "SELECT d.pid, d.state, d.detail, d.next_action, d.next_at, d.since, d.updated_at
             FROM daemon_status d JOIN accounts a ON a.id = d.account_id WHERE a.name = ?1",
            [name],
            |r| {
                Ok(DaemonStatus {
                    pid: r.get(0)?,
                    state: r.get(1)?,
                    detail: r.get(2)?,
                    next_action: r.get(3)?,
                    next_at: r.get(4)?,
                    since: r.get(5)?,
                    updated_at: r.get(6)?,
                })
            },
        )
        .optional()?)
}

/// The account's row as the sync leaves it: last successful sync and last error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountRecord {
    pub last_sync_at: Option<i64>,
    pub last_error: String,
    /// A Sent folder was found (the folders table has one with role `sent`).
    pub has_sent: bool,
    /// Folders ever examined: false before the first sync.
    pub has_folders: bool,
    /// Outbox rows per state.
    pub outbox: BTreeMap<String, i64>,
    /// The earliest queued row's due time (or retry time).
    pub next_queued: Option<i64>,
}

pub fn account_record(tx: &Transaction<'_>, name: &str) -> anyhow::Result<Option<AccountRecord>> {
    let row = tx
        .query_row(
            "SELECT id, last_sync_at, last_error FROM accounts WHERE name = ?1",
            [name],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((id, last_sync_at, last_error)) = row else {
        return Ok(None);
    };
    let (folders, sent): (i64, i64) = tx.query_row(
        "SELECT count(*), coalesce(sum(role = 'sent'), 0) FROM folders WHERE account_id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut stmt =
        tx.prepare("SELECT state, count(*) FROM outbox WHERE account_id = ?1 GROUP BY state")?;
    let outbox = stmt
        .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let next_queued = tx.query_row(
        "SELECT min(max(due, coalesce(next_try_at, 0))) FROM outbox
         WHERE account_id = ?1 AND state = 'queued'",
        [id],
        |r| r.get::<_, Option<i64>>(0),
    )?;
    Ok(Some(AccountRecord {
        last_sync_at,
        last_error,
        has_sent: sent > 0,
        has_folders: folders > 0,
        outbox,
        next_queued,
    }))
}

/// On the daemon's way out: its rows say `stopped` so that `candor status` does not show a
/// connection that is gone.
pub fn mark_stopped(tx: &Transaction<'_>, pid: i64, now: i64) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE daemon_status SET state = 'stopped', detail = '', next_action = '', next_at = NULL,
             since = ?2, updated_at = ?2
         WHERE pid = ?1",
        params![pid, now],
    )?;
    Ok(())
}

/// An account removed by a reload: its status row goes (its data stays).
pub fn remove(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<()> {
    tx.execute(
        "DELETE FROM daemon_status WHERE account_id = ?1",
        [account.0],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::ingest::ensure_account;

    #[test]
    fn status_rows_keep_their_since_while_the_state_holds() {
        let store = Store::open_in_memory().unwrap();
        let now = jiff::Timestamp::from_second(1_000).unwrap();
        store
            .call_blocking(|tx| {
                let id = ensure_account(tx, "jane", now)?;
                set(
                    tx,
                    id,
                    7,
                    "idle",
                    "",
                    ("re-check folders", Some(1_300)),
                    1_000,
                )?;
                set(
                    tx,
                    id,
                    7,
                    "idle",
                    "",
                    ("re-check folders", Some(1_600)),
                    1_200,
                )?;
                let s = get(tx, "jane")?.unwrap();
                assert_eq!(
                    (s.since, s.updated_at, s.next_at),
                    (1_000, 1_200, Some(1_600))
                );
                set(tx, id, 7, "syncing", "", ("", None), 1_250)?;
                assert_eq!(get(tx, "jane")?.unwrap().since, 1_250);
                mark_stopped(tx, 7, 1_300)?;
                let s = get(tx, "jane")?.unwrap();
                assert_eq!((s.state.as_str(), s.since), ("stopped", 1_300));
                assert_eq!(get(tx, "nobody")?, None);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn account_record_counts_the_outbox_by_state_and_sees_a_missing_sent_folder() {
        let store = Store::open_in_memory().unwrap();
        let now = jiff::Timestamp::from_second(1_000).unwrap();
        store
            .call_blocking(|tx| {
                let id = ensure_account(tx, "jane", now)?;
                let r = account_record(tx, "jane")?.unwrap();
                assert!(!r.has_folders && !r.has_sent && r.outbox.is_empty());
                tx.execute(
                    "INSERT INTO folders (account_id, name, role) VALUES (?1, 'INBOX', 'inbox')",
                    [id.0],
                )?;
                for (n, state) in ["queued", "queued", "unknown"].iter().enumerate() {
                    tx.execute(
                        "INSERT INTO outbox (account_id, candidate, recipient, kind, state, message_id,
                             due, raw, created_at, updated_at)
                         VALUES (?1, 'a@x', 'a@x', 'follow_up_1', ?2, ?3, ?4, x'', 0, 0)",
                        params![id.0, state, format!("m{n}"), 2_000 + n as i64],
                    )?;
                }
                let r = account_record(tx, "jane")?.unwrap();
                assert!(r.has_folders && !r.has_sent);
                assert_eq!(r.outbox.get("queued"), Some(&2));
                assert_eq!(r.outbox.get("unknown"), Some(&1));
                assert_eq!(r.next_queued, Some(2_000));
                Ok(())
            })
            .unwrap();
    }
}
