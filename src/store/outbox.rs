//! Queries of the outbox (SPEC §8) and of the owner's per-candidate decisions (SPEC §6).

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension as _, Row, Transaction, params};

use crate::store::ingest::AccountId;
use crate::store::recipients;

/// One outbox row, without its bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub account: String,
    pub candidate: String,
    pub recipient: String,
    pub kind: String,
    pub state: String,
    pub message_id: String,
    pub reply_to: Option<i64>,
    pub due: i64,
    pub attempts: i64,
    pub next_try_at: Option<i64>,
    pub last_error: String,
    pub copied: bool,
    pub created_at: i64,
    pub done_at: Option<i64>,
    /// Where the latest attempt went (`smtp` or `drafts`); `None` before any attempt, or for a
    /// row attempted before candor recorded it.
    pub channel: Option<String>,
}

/// A row to queue: everything is final before anything is sent.
#[derive(Clone, Debug)]
pub struct NewOutboxRow<'a> {
    pub candidate: &'a str,
    pub recipient: &'a str,
    pub kind: &'a str,
    /// `queued`, or `recorded` in dry-run mode.
    pub state: &'a str,
    pub message_id: &'a str,
    pub reply_to: Option<i64>,
    pub due: i64,
    pub raw: &'a [u8],
}

const COLUMNS: &str =
    "o.id, a.name, o.candidate, o.recipient, o.kind, o.state, o.message_id, o.reply_to, o.due,
     o.attempts, o.next_try_at, o.last_error, o.copied, o.created_at, o.done_at, o.channel";

fn row(r: &Row<'_>) -> rusqlite::Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.get(0)?,
        account: r.get(1)?,
        candidate: r.get(2)?,
        recipient: r.get(3)?,
        kind: r.get(4)?,
        state: r.get(5)?,
        message_id: r.get(6)?,
        reply_to: r.get(7)?,
        due: r.get(8)?,
        attempts: r.get(9)?,
        next_try_at: r.get(10)?,
        last_error: r.get(11)?,
        copied: r.get::<_, i64>(12)? != 0,
        created_at: r.get(13)?,
        done_at: r.get(14)?,
        channel: r.get(15)?,
    })
}

pub fn insert(
    tx: &Transaction<'_>,
    account: AccountId,
    new: &NewOutboxRow<'_>,
    now: i64,
) -> anyhow::Result<i64> {
    let done_at = (new.state == "recorded").then_some(now);
    tx.execute(
        "INSERT INTO outbox (account_id, candidate, recipient, kind, state, message_id, reply_to, due, raw,
             created_at, updated_at, done_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
        params![
            account.0,
            new.candidate,
            new.recipient,
            new.kind,
            new.state,
            new.message_id,
            new.reply_to,
            new.due,
            new.raw,
            now,
            done_at
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// Every row of an account (or of all accounts), oldest first.
pub fn rows(tx: &Transaction<'_>, account: Option<AccountId>) -> anyhow::Result<Vec<OutboxRow>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {COLUMNS} FROM outbox o JOIN accounts a ON a.id = o.account_id
         WHERE ?1 IS NULL OR o.account_id = ?1 ORDER BY o.id"
    ))?;
    let rows = stmt.query_map([account.map(|a| a.0)], row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(tx: &Transaction<'_>, id: i64) -> anyhow::Result<Option<OutboxRow>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {COLUMNS} FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?1"
    ))?;
    Ok(stmt.query_row([id], row).optional()?)
}

pub fn raw(tx: &Transaction<'_>, id: i64) -> anyhow::Result<Vec<u8>> {
    Ok(tx.query_row("SELECT raw FROM outbox WHERE id = ?1", [id], |r| r.get(0))?)
}

/// Moves a row to `sending` and raises its attempt count, before the SMTP call or the APPEND
/// to Drafts (SPEC §8), recording which of the two `channel` is: after a crash, recovery looks
/// for the email where this attempt put it, whatever the account's mode is by then.
/// Returns false when the row is no longer `queued` (cancelled meanwhile).
pub fn begin_attempt(
    tx: &Transaction<'_>,
    id: i64,
    now: i64,
    channel: Channel,
) -> anyhow::Result<bool> {
    let n = tx.execute(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ?2,
             channel = ?3
         WHERE id = ?1 AND state = 'queued'",
        params![id, now, channel.as_str()],
    )?;
    Ok(n == 1)
}

/// Where an attempt takes an email: to the server by SMTP, or to the owner's Drafts folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Smtp,
    Drafts,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Smtp => "smtp",
            Channel::Drafts => "drafts",
        }
    }
}

/// Commits again what [`begin_attempt`] committed (the row stays `sending`): a second synced
/// commit, which fails on a file system that has just failed, confirms that the first is on
/// disk (see `outbox::begin_attempt`). Returns false when the row is no longer `sending`.
pub fn confirm_attempt(tx: &Transaction<'_>, id: i64, now: i64) -> anyhow::Result<bool> {
    let n = tx.execute(
        "UPDATE outbox SET updated_at = ?2 WHERE id = ?1 AND state = 'sending'",
        params![id, now],
    )?;
    Ok(n == 1)
}

/// Undoes [`begin_attempt`] when nothing was sent: `queued` again, the attempt not counted.
pub fn release_attempt(tx: &Transaction<'_>, id: i64, error: &str, now: i64) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE outbox SET state = 'queued', attempts = max(attempts - 1, 0), last_error = ?2,
             updated_at = ?3
         WHERE id = ?1 AND state = 'sending'",
        params![id, error, now],
    )?;
    Ok(())
}

/// Final or intermediate state change, with the reason.
pub fn set_state(
    tx: &Transaction<'_>,
    id: i64,
    state: &str,
    error: &str,
    now: i64,
) -> anyhow::Result<()> {
    let done = matches!(
        state,
        "sent" | "drafted" | "recorded" | "failed" | "cancelled"
    );
    tx.execute(
        "UPDATE outbox SET state = ?2, last_error = ?3, updated_at = ?4,
             done_at = CASE WHEN ?5 THEN ?4 ELSE done_at END
         WHERE id = ?1",
        params![id, state, error, now, done],
    )?;
    Ok(())
}

/// Removes a row that is still `queued` and was never attempted: nothing of it can have left.
/// False when it was attempted or changed meanwhile (that stays).
pub fn drop_unattempted(tx: &Transaction<'_>, id: i64) -> anyhow::Result<bool> {
    let n = tx.execute(
        "DELETE FROM outbox WHERE id = ?1 AND state = 'queued' AND attempts = 0",
        [id],
    )?;
    Ok(n == 1)
}

/// Records a row that is still `queued` as `recorded` (dry-run), with the reason; false when it
/// is no longer queued (the owner cancelled it meanwhile: that stays).
pub fn record_queued(tx: &Transaction<'_>, id: i64, why: &str, now: i64) -> anyhow::Result<bool> {
    let n = tx.execute(
        "UPDATE outbox SET state = 'recorded', last_error = ?2, updated_at = ?3, done_at = ?3
         WHERE id = ?1 AND state = 'queued'",
        params![id, why, now],
    )?;
    Ok(n == 1)
}

/// A transient failure known to have happened before the server accepted the message.
pub fn retry_later(
    tx: &Transaction<'_>,
    id: i64,
    at: i64,
    error: &str,
    now: i64,
) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE outbox SET state = 'queued', next_try_at = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, at, error, now],
    )?;
    Ok(())
}

pub fn mark_copied(tx: &Transaction<'_>, id: i64, now: i64) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE outbox SET copied = 1, updated_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// `candor outbox cancel`: only a row that has not started sending can be cancelled.
pub fn cancel(
    tx: &Transaction<'_>,
    id: i64,
    why: &str,
    now: i64,
) -> anyhow::Result<Option<String>> {
    let state: Option<String> = tx
        .query_row("SELECT state FROM outbox WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    match state.as_deref() {
        Some("queued") => {
            set_state(tx, id, "cancelled", why, now)?;
            Ok(Some("cancelled".to_owned()))
        }
        other => Ok(other.map(str::to_owned)),
    }
}

/// Automated emails of the account whose send (or draft) happened at or after `since`.
pub fn sent_since(tx: &Transaction<'_>, account: AccountId, since: i64) -> anyhow::Result<u32> {
    Ok(tx.query_row(
        "SELECT count(*) FROM outbox WHERE account_id = ?1 AND kind != 'digest'
           AND state IN ('sending','sent','unknown','drafted') AND updated_at >= ?2",
        params![account.0, since],
        |r| r.get::<_, i64>(0),
    )? as u32)
}

/// The owner's decisions about one candidate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CandidateState {
    pub paused: bool,
    pub paused_until: Option<String>,
    pub paused_at: Option<i64>,
    pub resumed_at: Option<i64>,
    pub decided: Option<String>,
    pub decided_at: Option<i64>,
}

pub fn candidate_states(
    tx: &Transaction<'_>,
    account: AccountId,
) -> anyhow::Result<BTreeMap<String, CandidateState>> {
    let mut stmt = tx.prepare(
        "SELECT address, paused, paused_until, paused_at, resumed_at, decided, decided_at
         FROM candidate_states WHERE account_id = ?1",
    )?;
    let rows = stmt.query_map([account.0], |r| {
        Ok((
            r.get::<_, String>(0)?,
            CandidateState {
                paused: r.get::<_, i64>(1)? != 0,
                paused_until: r.get(2)?,
                paused_at: r.get(3)?,
                resumed_at: r.get(4)?,
                decided: r.get(5)?,
                decided_at: r.get(6)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_candidate_state(
    tx: &Transaction<'_>,
    account: AccountId,
    address: &str,
    state: &CandidateState,
    now: i64,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO candidate_states (account_id, address, paused, paused_until, paused_at, resumed_at,
             decided, decided_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (account_id, address) DO UPDATE SET paused = excluded.paused,
             paused_until = excluded.paused_until, paused_at = excluded.paused_at,
             resumed_at = excluded.resumed_at, decided = excluded.decided,
             decided_at = excluded.decided_at, updated_at = excluded.updated_at",
        params![
            account.0,
            address,
            state.paused as i64,
            state.paused_until,
            state.paused_at,
            state.resumed_at,
            state.decided,
            state.decided_at,
            now
        ],
    )?;
    Ok(())
}

/// Cancels the queued rows of a candidate (a resume, pause or hold cancels a pending closure).
pub fn cancel_queued_for(
    tx: &Transaction<'_>,
    account: AccountId,
    candidate: &str,
    why: &str,
    now: i64,
) -> anyhow::Result<usize> {
    Ok(tx.execute(
        "UPDATE outbox SET state = 'cancelled', last_error = ?3, updated_at = ?4, done_at = ?4
         WHERE account_id = ?1 AND candidate = ?2 AND state = 'queued'",
        params![account.0, candidate, why, now],
    )?)
}

/// `candor candidate forget`: erases every message the person sent or received, the owner's
/// decisions, marks, merges and outbox rows about them. Returns the number of messages erased.
///
/// The owner's digests name the person too: every digest row loses its text (a queued one is
/// cancelled, and the next digest covers its period), and so does every digest copy read back
/// from the mailbox. The text of any other message that gives their address (a client's note
/// quoting it) is erased, the message kept. Found in review: both digests kept them after
/// `forget`. A digest's text is matched wholesale, not searched: it may be encoded (quoted-
/// printable, base64), and its job is done once it is handed over.
pub fn forget(
    tx: &Transaction<'_>,
    account: AccountId,
    addresses: &[String],
    now: i64,
) -> anyhow::Result<usize> {
    if !addresses.is_empty() {
        tx.execute(
            "UPDATE outbox SET state = 'cancelled', last_error = ?2, updated_at = ?3, done_at = ?3
             WHERE account_id = ?1 AND kind = 'digest' AND state = 'queued'",
            params![account.0, "a person it named was forgotten", now],
        )?;
        tx.execute(
            "UPDATE outbox SET raw = X'' WHERE account_id = ?1 AND kind = 'digest'",
            params![account.0],
        )?;
        tx.execute(
            "UPDATE messages SET body_text = '' WHERE account_id = ?1 AND candor_kind = 'digest'",
            params![account.0],
        )?;
    }
    let mut erased = 0;
    for address in addresses {
        tx.execute(
            "UPDATE messages SET body_text = '', subject = ''
             WHERE account_id = ?1 AND (instr(lower(body_text), ?2) > 0 OR instr(lower(subject), ?2) > 0)",
            params![account.0, address.to_lowercase()],
        )?;
        erased += tx.execute(
            "DELETE FROM messages WHERE account_id = ?1 AND (from_addr = ?2
                 OR instr(recipients, ?3) > 0
                 OR instr(' ' || bounce_rcpts || ' ', ' ' || ?2 || ' ') > 0)",
            params![account.0, address, recipients::search_pattern(address)],
        )?;
        for sql in [
            "DELETE FROM candidate_states WHERE account_id = ?1 AND address = ?2",
            "DELETE FROM candidate_marks WHERE account_id = ?1 AND address = ?2",
            "DELETE FROM candidate_merges WHERE account_id = ?1 AND (address = ?2 OR into_address = ?2)",
            "DELETE FROM outbox WHERE account_id = ?1 AND (candidate = ?2 OR recipient = ?2)",
        ] {
            tx.execute(sql, params![account.0, address])?;
        }
    }
    Ok(erased)
}
