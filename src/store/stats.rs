//! Read-only figures for `candor stats` and `candor status`.

use std::collections::BTreeMap;

use rusqlite::{Transaction, params};

/// Counts for one account; times are unix seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountCounts {
    pub name: String,
    pub messages: u64,
    pub folders: BTreeMap<String, u64>,
    pub classes: BTreeMap<String, u64>,
    pub skipped: u64,
    pub last_sync: Option<i64>,
    pub first_sync: Option<i64>,
    pub last_error: String,
}

/// The six classes of SPEC §2, always present in the output, zero or not.
pub const CLASSES: [&str; 6] = ["human", "auto_reply", "bounce", "list", "role", "own"];

/// Counts of the account's messages whose message time lies in `[since, until)`.
pub fn account_counts(
    tx: &Transaction<'_>,
    name: &str,
    since: Option<i64>,
    until: Option<i64>,
) -> anyhow::Result<AccountCounts> {
    let mut counts = AccountCounts {
        name: name.to_owned(),
        ..AccountCounts::default()
    };
    for class in CLASSES {
        counts.classes.insert(class.to_owned(), 0);
    }
    let row = tx.query_row(
        "SELECT id, last_sync_at, first_sync_at, last_error FROM accounts WHERE name = ?1",
        [name],
        |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    );
    let (id, last_sync, first_sync, last_error) = match row {
        Ok(row) => row,
        Err(rusqlite::Error::QueryReturnedNoRows) => return Ok(counts),
        Err(e) => return Err(e.into()),
    };
    counts.last_sync = last_sync;
    counts.first_sync = first_sync;
    counts.last_error = last_error;
    let (since, until) = (since.unwrap_or(i64::MIN), until.unwrap_or(i64::MAX));

    let mut stmt = tx.prepare(
        "SELECT class, count(*) FROM messages WHERE account_id = ?1 AND time >= ?2 AND time < ?3 GROUP BY class",
    )?;
    let rows = stmt.query_map(params![id, since, until], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (class, n) = row?;
        counts.messages += n as u64;
        counts.classes.insert(class, n as u64);
    }

    let mut stmt = tx.prepare(
        "SELECT f.name, count(DISTINCT l.message_id)
         FROM folders f
         LEFT JOIN locations l ON l.folder_id = f.id AND l.present = 1
             AND l.message_id IN (SELECT id FROM messages WHERE account_id = ?1 AND time >= ?2 AND time < ?3)
         WHERE f.account_id = ?1
         GROUP BY f.id ORDER BY f.name",
    )?;
    let rows = stmt.query_map(params![id, since, until], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (folder, n) = row?;
        counts.folders.insert(folder, n as u64);
    }

    counts.skipped = tx.query_row(
        "SELECT count(*) FROM skipped s JOIN folders f ON f.id = s.folder_id WHERE f.account_id = ?1",
        [id],
        |r| r.get::<_, i64>(0),
    )? as u64;
    Ok(counts)
}

/// Why messages were skipped, most recent first.
pub fn skipped_reasons(
    tx: &Transaction<'_>,
    name: &str,
    limit: usize,
) -> anyhow::Result<Vec<(String, u32, String)>> {
    let mut stmt = tx.prepare(
        "SELECT f.name, s.uid, s.reason FROM skipped s
         JOIN folders f ON f.id = s.folder_id JOIN accounts a ON a.id = f.account_id
         WHERE a.name = ?1 ORDER BY s.at DESC, s.uid DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![name, limit as i64], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as u32, r.get(2)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
