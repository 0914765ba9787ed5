//! Queries behind conversations: the messages of an account as facts, candidate merges and
//! marks (explicit scope, exclusions), and which messages lie in the scope folders.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr as _;

use rusqlite::{OptionalExtension as _, Transaction, params};

use crate::conversations::StoredMessage;
use crate::mail::Class;
use crate::store::ingest::AccountId;
use crate::store::recipients::{self, Field};

/// The account's row, if it was ever synced.
pub fn account_id(tx: &Transaction<'_>, name: &str) -> anyhow::Result<Option<AccountId>> {
    Ok(tx
        .query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
            r.get(0)
        })
        .optional()?
        .map(AccountId))
}

/// Every message of the account, with its To, Cc and Reply-To addresses, in time order.
pub fn messages(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<Vec<StoredMessage>> {
    let mut out: Vec<StoredMessage> = Vec::new();
    let mut stmt = tx.prepare(
        "SELECT id, thread_id, time, message_id, in_reply_to, refs, from_addr, from_name, subject,
             class, body_text, ooo_until, bounce_kind, bounce_rcpts, candor_kind, recipients
         FROM messages WHERE account_id = ?1 ORDER BY time, id",
    )?;
    let mut rows = stmt.query([account.0])?;
    while let Some(r) = rows.next()? {
        let key: i64 = r.get(0)?;
        let thread: i64 = r.get(1)?;
        let in_reply_to: String = r.get(4)?;
        let refs: String = r.get(5)?;
        let class: String = r.get(9)?;
        let ooo_until: Option<String> = r.get(11)?;
        let bounce_kind: Option<String> = r.get(12)?;
        let bounce_rcpts: String = r.get(13)?;
        let stored_recipients: String = r.get(15)?;
        let mut to = Vec::new();
        let mut cc = Vec::new();
        let mut recipient_names = Vec::new();
        let mut reply_to = Vec::new();
        for recipient in recipients::decode(&stored_recipients) {
            let list = match recipient.field {
                Field::To => &mut to,
                Field::Cc => &mut cc,
                Field::ReplyTo => {
                    reply_to.push((recipient.address.into_owned(), recipient.name.into_owned()));
                    continue;
                }
            };
            let address = recipient.address.into_owned();
            if !recipient.name.is_empty() {
                recipient_names.push((address.clone(), recipient.name.into_owned()));
            }
            list.push(address);
        }
        out.push(StoredMessage {
            key,
            // Messages stored before threading existed have thread 0: alone in their thread.
            thread: if thread == 0 { key } else { thread },
            time: jiff::Timestamp::from_second(r.get(2)?).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            message_id: r.get(3)?,
            // The parent: In-Reply-To, else the last References id (RFC 5322 §3.6.4), which is
            // all that clients writing References only give.
            in_reply_to: in_reply_to
                .split_whitespace()
                .next()
                .or_else(|| refs.split_whitespace().next_back())
                .map(str::to_owned),
            from: r.get(6)?,
            from_name: r.get(7)?,
            to,
            cc,
            subject: r.get(8)?,
            class: Class::from_str(&class).unwrap_or(Class::Human),
            body: r.get(10)?,
            ooo_until: ooo_until.and_then(|d| d.parse().ok()),
            hard_bounce: bounce_kind.as_deref() == Some("hard"),
            bounced: bounce_rcpts.split_whitespace().map(str::to_owned).collect(),
            own_kind: r.get(14)?,
            recipient_names,
            reply_to,
        });
    }
    Ok(out)
}

/// `candor candidate merge`: address → the address it was merged into.
pub fn merges(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<Vec<(String, String)>> {
    let mut stmt = tx.prepare(
        "SELECT into_address, address FROM candidate_merges WHERE account_id = ?1 ORDER BY at, address",
    )?;
    let rows = stmt.query_map([account.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn add_merge(
    tx: &Transaction<'_>,
    account: AccountId,
    into: &str,
    address: &str,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO candidate_merges (account_id, address, into_address, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (account_id, address) DO UPDATE SET into_address = excluded.into_address, at = excluded.at",
        params![account.0, address, into, now.as_second()],
    )?;
    Ok(())
}

/// Marks set by `candor candidate add` and `candor candidate exclude`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub added: bool,
    pub excluded: bool,
}

pub fn marks(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<BTreeMap<String, Mark>> {
    let mut stmt =
        tx.prepare("SELECT address, added, excluded FROM candidate_marks WHERE account_id = ?1")?;
    let rows = stmt.query_map([account.0], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Mark {
                added: r.get::<_, i64>(1)? != 0,
                excluded: r.get::<_, i64>(2)? != 0,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_mark(
    tx: &Transaction<'_>,
    account: AccountId,
    address: &str,
    mark: Mark,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO candidate_marks (account_id, address, added, excluded, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (account_id, address) DO UPDATE SET added = excluded.added, excluded = excluded.excluded, at = excluded.at",
        params![account.0, address, mark.added as i64, mark.excluded as i64, now.as_second()],
    )?;
    Ok(())
}

/// Keys of the messages present in any of `folders`.
pub fn keys_in_folders(
    tx: &Transaction<'_>,
    account: AccountId,
    folders: &[String],
) -> anyhow::Result<HashSet<i64>> {
    let mut keys = HashSet::new();
    let mut stmt = tx.prepare(
        "SELECT DISTINCT l.message_id FROM locations l JOIN folders f ON f.id = l.folder_id
         WHERE f.account_id = ?1 AND f.name = ?2 AND l.present = 1",
    )?;
    for folder in folders {
        for key in stmt.query_map(params![account.0, folder], |r| r.get::<_, i64>(0))? {
            keys.insert(key?);
        }
    }
    Ok(keys)
}

/// Number of distinct threads of the account.
pub fn thread_count(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<u64> {
    Ok(tx.query_row(
        "SELECT count(DISTINCT CASE WHEN thread_id = 0 THEN -id ELSE thread_id END) FROM messages WHERE account_id = ?1",
        [account.0],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Messages present in `folder`, with the time candor first saw them there.
pub fn folder_seen(
    tx: &Transaction<'_>,
    account: AccountId,
    folder: &str,
) -> anyhow::Result<HashMap<i64, i64>> {
    let mut stmt = tx.prepare(
        "SELECT l.message_id, min(l.seen_at) FROM locations l JOIN folders f ON f.id = l.folder_id
         WHERE f.account_id = ?1 AND f.name = ?2 AND l.present = 1 GROUP BY l.message_id",
    )?;
    let rows = stmt.query_map(params![account.0, folder], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The end of the account's first complete sync: the activation horizon (SPEC §6).
pub fn first_sync_at(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<Option<i64>> {
    Ok(tx.query_row(
        "SELECT first_sync_at FROM accounts WHERE id = ?1",
        [account.0],
        |r| r.get(0),
    )?)
}

/// The references of a message (for the `References` header of a reply).
pub fn message_refs(
    tx: &Transaction<'_>,
    key: i64,
) -> anyhow::Result<Option<(Option<String>, String, String)>> {
    Ok(tx
        .query_row(
            "SELECT message_id, refs, subject FROM messages WHERE id = ?1",
            [key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?)
}

/// The account's last recorded sync error, empty when the last attempt succeeded.
pub fn last_error(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<String> {
    Ok(tx.query_row(
        "SELECT last_error FROM accounts WHERE id = ?1",
        [account.0],
        |r| r.get(0),
    )?)
}
