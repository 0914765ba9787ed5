//! Queries of the ingest: accounts, folders and their cursors, messages and their locations.

use std::sync::LazyLock;

use anyhow::Context as _;
use rusqlite::{CachedStatement, OptionalExtension as _, Transaction, params};

use crate::mail;
use crate::store::keys;
pub use crate::store::keys::KnownKeys;
use crate::store::recipients::{self, Field};
use crate::threading::Prepared;

/// Row id of an account in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(pub i64);

/// Row id of a folder in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FolderId(pub i64);

/// Row id of a stored message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageRowId(pub i64);

/// A folder's sync state: every UID below `next_uid` under `uidvalidity` is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FolderCursor {
    pub id: FolderId,
    pub name: String,
    pub uidvalidity: Option<u32>,
    pub next_uid: u32,
}

/// One fetched message, parsed or not.
#[derive(Debug)]
pub enum Fetched {
    Parsed {
        uid: u32,
        internal_date: jiff::Timestamp,
        /// The message, its `text` moved out into `text` below.
        message: Box<mail::Message>,
        /// What is stored of the body ([`stored_text`]): computed by the parser stage, which
        /// also frees the rest of the fetched text before the batch waits for the store.
        text: String,
        /// The message as the threader compares it, when the parser stage prepared it (else
        /// the threader reads the message itself).
        thread: Option<Prepared>,
    },
    Skipped {
        uid: u32,
        reason: String,
    },
}

impl Fetched {
    /// A parsed message, reduced to what the store keeps.
    pub fn parsed(uid: u32, internal_date: jiff::Timestamp, mut message: mail::Message) -> Fetched {
        let text = stored_text(&std::mem::take(&mut message.text));
        Fetched::Parsed {
            uid,
            internal_date,
            message: Box::new(message),
            text,
            thread: None,
        }
    }

    /// Prepares a parsed message for the threader, where the message was just parsed.
    pub fn prepare_thread(
        &mut self,
        prepare: impl FnOnce(&mail::Message, jiff::Timestamp) -> Prepared,
    ) {
        if let Fetched::Parsed {
            internal_date,
            message,
            thread,
            ..
        } = self
        {
            *thread = Some(prepare(message, *internal_date));
        }
    }

    pub fn uid(&self) -> u32 {
        match self {
            Fetched::Parsed { uid, .. } | Fetched::Skipped { uid, .. } => *uid,
        }
    }
}

/// The thread of a new message, chosen (by the caller's threader) before the message is
/// inserted, so that its row is written once: the thread's id and the threads it merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ThreadChoice {
    pub thread: i64,
    pub merged: Vec<i64>,
}

/// The caller's threader: the thread of a new message (parsed, received at the given time,
/// perhaps prepared by the parser stage) about to be stored as the given row.
pub type ThreadOf<'a> = dyn FnMut(&mail::Message, jiff::Timestamp, Option<&Prepared>, MessageRowId) -> ThreadChoice
    + 'a;

/// What storing a batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Messages new to the account.
    pub new_messages: usize,
    /// The new messages' rows, with their index in the batch.
    pub new_rows: Vec<(usize, MessageRowId)>,
    /// New locations of messages already stored (the same message in another folder, a
    /// duplicate delivery, a rescan after a UIDVALIDITY change).
    pub known_messages: usize,
    pub skipped: usize,
}

impl BatchOutcome {
    /// Adds `other`'s counts (not its rows, which index another batch).
    pub fn add_counts(&mut self, other: &BatchOutcome) {
        self.new_messages += other.new_messages;
        self.known_messages += other.known_messages;
        self.skipped += other.skipped;
    }
}

pub fn ensure_account(
    tx: &Transaction<'_>,
    name: &str,
    now: jiff::Timestamp,
) -> anyhow::Result<AccountId> {
    tx.execute(
        "INSERT INTO accounts (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, now.as_second()],
    )?;
    let id = tx.query_row("SELECT id FROM accounts WHERE name = ?1", [name], |r| {
        r.get(0)
    })?;
    Ok(AccountId(id))
}

/// SQLite page cache of the connection while ingesting, in KiB. The default (2 MiB) is smaller
/// than the indexes a first sync of 100k messages touches, so inserts kept re-reading index pages
/// from the OS (pread ~10% of the profile). Measured on 100k messages with the three-stage
/// pipeline (issue 4): 8 MiB and 10000 WAL pages 9.6 s, both defaults 12.2 s; 16 and 32 MiB were
/// no faster and cost 8 and 26 MiB more RSS.
const INGEST_CACHE_KIB: i64 = 8 * 1024;
/// WAL bytes before an automatic checkpoint (default 1000 pages, 4 MiB at 4 KiB pages). Each
/// checkpoint writes pages back and fsyncs the database: hot index pages that every batch rewrites
/// are written back once per 40 MiB of WAL instead of once per 4 MiB (before the pipeline: 14.7 s
/// → 12.7 s on 100k). Bytes rather than pages: a store created since has 16 KiB pages
/// (`store::NEW_STORE_PAGE_SIZE`), and 10,000 of them would let the WAL grow to 160 MiB.
const INGEST_WAL_AUTOCHECKPOINT_BYTES: i64 = 40 * 1024 * 1024;

/// Connection settings for ingesting batches of messages; they last for the connection, which
/// suits a daemon whose work is ingest. Durability is unchanged (`synchronous` stays as opened).
pub fn use_ingest_settings(tx: &Transaction<'_>) -> anyhow::Result<()> {
    tx.pragma_update(None, "cache_size", -INGEST_CACHE_KIB)?;
    let page_size: i64 = tx.pragma_query_value(None, "page_size", |r| r.get(0))?;
    tx.pragma_update(
        None,
        "wal_autocheckpoint",
        INGEST_WAL_AUTOCHECKPOINT_BYTES / page_size.max(512),
    )?;
    Ok(())
}

pub fn ensure_folder(
    tx: &Transaction<'_>,
    account: AccountId,
    name: &str,
    role: &str,
) -> anyhow::Result<FolderCursor> {
    tx.execute(
        "INSERT INTO folders (account_id, name, role) VALUES (?1, ?2, ?3)
         ON CONFLICT (account_id, name) DO UPDATE SET role = excluded.role",
        params![account.0, name, role],
    )?;
    folder_cursor(tx, account, name)?.context("the folder row vanished right after its insert")
}

/// A folder's cursor, if the folder was ever synced; nothing is written.
pub fn folder_cursor(
    tx: &Transaction<'_>,
    account: AccountId,
    name: &str,
) -> anyhow::Result<Option<FolderCursor>> {
    let cursor = tx
        .query_row(
            "SELECT id, name, uidvalidity, next_uid FROM folders WHERE account_id = ?1 AND name = ?2",
            params![account.0, name],
            |r| {
                Ok(FolderCursor {
                    id: FolderId(r.get(0)?),
                    name: r.get(1)?,
                    uidvalidity: r.get::<_, Option<i64>>(2)?.map(|v| v as u32),
                    next_uid: r.get::<_, i64>(3)? as u32,
                })
            },
        )
        .optional()?;
    Ok(cursor)
}

/// The server gave the folder a new UIDVALIDITY: every old location is gone, and the folder is
/// read again from UID 1 (messages already stored are recognised by their key, SPEC §3).
pub fn reset_uidvalidity(
    tx: &Transaction<'_>,
    folder: FolderId,
    uidvalidity: u32,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE locations SET present = 0, gone_at = ?3
         WHERE folder_id = ?1 AND uidvalidity != ?2 AND present = 1",
        params![folder.0, uidvalidity, now.as_second()],
    )?;
    tx.execute(
        "UPDATE folders SET uidvalidity = ?2, next_uid = 1 WHERE id = ?1",
        params![folder.0, uidvalidity],
    )?;
    Ok(())
}

/// Stores a batch of fetched messages and moves the folder's cursor to `next_uid`, in the
/// caller's transaction: the cursor never runs ahead of the messages it covers. Each new message
/// gets its row id first (never below `min_id`), then its thread from `thread_of`, then is
/// inserted in one write.
// Each argument is one independent piece of the batch's context; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub fn store_batch(
    tx: &Transaction<'_>,
    account: AccountId,
    folder: FolderId,
    uidvalidity: u32,
    batch: &[Fetched],
    next_uid: u32,
    now: jiff::Timestamp,
    known: &mut KnownKeys,
    min_id: i64,
    thread_of: &mut ThreadOf<'_>,
) -> anyhow::Result<BatchOutcome> {
    let mut outcome = BatchOutcome::default();
    // The immediate transaction holds the write lock: nobody else takes ids meanwhile.
    // Cached statements, like those of every message: preparing these two anew for each batch
    // showed in the store stage's profile.
    let next_id: i64 = tx
        .prepare_cached("SELECT coalesce(max(id), 0) + 1 FROM messages")?
        .query_row([], |r| r.get(0))?;
    let mut next_id = next_id.max(min_id);
    let mut statements = Statements::prepare(tx)?;
    // The locations of the batch, written once its messages are.
    let mut locations: Vec<(u32, MessageRowId)> = Vec::with_capacity(batch.len());
    for (index, item) in batch.iter().enumerate() {
        match item {
            Fetched::Parsed {
                uid,
                internal_date,
                message,
                text,
                thread,
            } => {
                let new = NewMessage {
                    message,
                    text,
                    internal_date: *internal_date,
                    thread: thread.as_ref(),
                };
                let (row, new) = insert_message(
                    &mut statements,
                    account,
                    &new,
                    &mut next_id,
                    now,
                    known,
                    thread_of,
                )?;
                if new {
                    outcome.new_messages += 1;
                    outcome.new_rows.push((index, row));
                } else {
                    outcome.known_messages += 1;
                }
                locations.push((*uid, row));
            }
            Fetched::Skipped { uid, reason } => {
                outcome.skipped += 1;
                tx.prepare_cached(
                    "INSERT INTO skipped (folder_id, uidvalidity, uid, reason, at)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (folder_id, uidvalidity, uid) DO UPDATE SET reason = excluded.reason",
                )?
                .execute(params![folder.0, uidvalidity, uid, reason, now.as_second()])?;
            }
        }
    }
    store_locations(tx, &mut statements, folder, uidvalidity, &locations, now)?;
    tx.prepare_cached("UPDATE folders SET next_uid = max(next_uid, ?2) WHERE id = ?1")?
        .execute(params![folder.0, next_uid])?;
    Ok(outcome)
}

/// Rows of one statement of [`store_locations`].
const LOCATIONS_PER_INSERT: usize = 50;

/// Writes the locations of a batch: each UID of the folder under `uidvalidity` is the given
/// message's, present.
///
/// New UIDs in ascending order (every batch of a first sync) are inserted
/// [`LOCATIONS_PER_INSERT`] to a statement: within one statement SQLite keeps its cursors, and
/// a row that goes after the last one of the table and of `locations_by_message` is placed
/// without a search from the root, which for one statement per row was most of a location's
/// cost. Otherwise, row by row, an insert and, when the UID was stored before, an update.
fn store_locations(
    tx: &Transaction<'_>,
    statements: &mut Statements<'_>,
    folder: FolderId,
    uidvalidity: u32,
    locations: &[(u32, MessageRowId)],
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    let (Some(&(first, _)), Some(&(last, _))) = (locations.first(), locations.last()) else {
        return Ok(());
    };
    let ascending = locations.windows(2).all(|pair| pair[0].0 < pair[1].0);
    let new = ascending
        && !tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM locations
                 WHERE folder_id = ?1 AND uidvalidity = ?2 AND uid BETWEEN ?3 AND ?4)",
            )?
            .query_row(params![folder.0, uidvalidity, first, last], |r| {
                r.get::<_, bool>(0)
            })?;
    let mut rest = locations;
    if new {
        let mut insert = tx.prepare_cached(&INSERT_LOCATIONS)?;
        let mut chunks = locations.chunks_exact(LOCATIONS_PER_INSERT);
        for chunk in &mut chunks {
            insert.raw_bind_parameter(1, folder.0)?;
            insert.raw_bind_parameter(2, uidvalidity)?;
            insert.raw_bind_parameter(3, now.as_second())?;
            for (n, (uid, row)) in chunk.iter().enumerate() {
                insert.raw_bind_parameter(4 + 2 * n, uid)?;
                insert.raw_bind_parameter(5 + 2 * n, row.0)?;
            }
            insert.raw_execute()?;
        }
        rest = chunks.remainder();
    }
    for (uid, row) in rest {
        // Two statements, not one upsert: an upsert whose update sets a foreign key runs in a
        // statement journal, which copied every page it touched (~5% of a first sync's store
        // time).
        let inserted = statements.insert_location.execute(params![
            folder.0,
            uidvalidity,
            uid,
            row.0,
            now.as_second()
        ])?;
        if inserted == 0 {
            statements
                .update_location
                .execute(params![folder.0, uidvalidity, uid, row.0])?;
        }
    }
    Ok(())
}

/// An insert of [`LOCATIONS_PER_INSERT`] new locations: folder, UIDVALIDITY and time are ?1, ?2,
/// ?3, then each row's UID and message. No ON CONFLICT: [`store_locations`] checked that none of
/// the UIDs is stored, and a conflict would be a bug to stop at, not a row to drop.
static INSERT_LOCATIONS: LazyLock<String> = LazyLock::new(|| {
    let rows: Vec<String> = (0..LOCATIONS_PER_INSERT)
        .map(|n| format!("(?1, ?2, ?{}, ?{}, ?3)", 4 + 2 * n, 5 + 2 * n))
        .collect();
    format!(
        "INSERT INTO locations (folder_id, uidvalidity, uid, message_id, seen_at) VALUES {}",
        rows.join(", ")
    )
});

/// The statements of [`store_batch`], prepared (or taken from the connection's cache) once per
/// batch rather than once per message: looking a statement up by its text was about 4% of the
/// store's time (issue 4).
struct Statements<'t> {
    /// The row stored under a key form, with the fields that tell whether it is this message.
    by_key: CachedStatement<'t>,
    /// The row stored under a key form, with its stable hash and Message-ID.
    by_key_hash: CachedStatement<'t>,
    insert_message: CachedStatement<'t>,
    /// A thread absorbed into another: its messages take the other's id.
    renumber_thread: CachedStatement<'t>,
    /// A stored human message seen again through a mailing list becomes a list message.
    list_copy: CachedStatement<'t>,
    /// A new location; nothing if the UID is already stored under the folder's UIDVALIDITY ...
    insert_location: CachedStatement<'t>,
    /// ... and then the location is this message's, present again.
    update_location: CachedStatement<'t>,
    /// Buffers for the texts of a message's row, reused from message to message.
    scratch: Scratch,
}

/// The texts of a new message's row that are built rather than borrowed.
#[derive(Default)]
struct Scratch {
    in_reply_to: String,
    references: String,
    extra_ids: String,
    bounce_recipients: String,
    recipients: String,
}

impl<'t> Statements<'t> {
    fn prepare(tx: &'t Transaction<'_>) -> rusqlite::Result<Statements<'t>> {
        Ok(Statements {
            by_key: tx.prepare_cached(
                "SELECT id, message_id, from_addr, date_header, subject FROM messages
                 WHERE account_id = ?1 AND key = ?2",
            )?,
            by_key_hash: tx.prepare_cached(
                "SELECT id, stable_hash, message_id FROM messages WHERE account_id = ?1 AND key = ?2",
            )?,
            insert_message: tx.prepare_cached(INSERT_MESSAGE)?,
            renumber_thread: tx.prepare_cached(
                "UPDATE messages SET thread_id = ?3 WHERE account_id = ?1 AND thread_id = ?2",
            )?,
            list_copy: tx.prepare_cached(
                "UPDATE messages SET class = 'list' WHERE id = ?1 AND class = 'human'",
            )?,
            insert_location: tx.prepare_cached(
                "INSERT INTO locations (folder_id, uidvalidity, uid, message_id, seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (folder_id, uidvalidity, uid) DO NOTHING",
            )?,
            update_location: tx.prepare_cached(
                "UPDATE locations SET message_id = ?4, present = 1, gone_at = NULL
                 WHERE folder_id = ?1 AND uidvalidity = ?2 AND uid = ?3",
            )?,
            scratch: Scratch::default(),
        })
    }
}

const INSERT_MESSAGE: &str = "INSERT INTO messages (id, account_id, key, message_id, stable_hash,
         in_reply_to, refs, from_addr, from_name, subject, date_header, internal_date, time, class,
         ooo_until, bounce_kind, bounce_rcpts, candor_kind, candor_outbox, body_text, stored_at,
         extra_ids, thread_id, recipients)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
         ?20, ?21, ?22, ?23, ?24)";

/// A parsed message on its way into the store.
struct NewMessage<'a> {
    message: &'a mail::Message,
    text: &'a str,
    internal_date: jiff::Timestamp,
    thread: Option<&'a Prepared>,
}

/// The key of SPEC §2: the Message-ID, unless absent or already taken by a different message
/// (different From, Date or Subject); then a hash of stable fields. The column holds the forms of
/// `store::keys`, whose short digests may collide: a row found under a form is this message only
/// if the message itself matches. Also returns the row already stored under the key, if any, so
/// that the caller needs no second lookup.
fn message_key(
    statements: &mut Statements<'_>,
    account: AccountId,
    message: &mail::Message,
    known: &KnownKeys,
) -> anyhow::Result<(String, Option<MessageRowId>)> {
    if let Some(id) = message.message_id.as_deref() {
        let key = keys::of_message_id(id);
        let existing = if known.may_be_stored(&key) {
            statements
                .by_key
                .query_row(params![account.0, key], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .optional()?
        } else {
            None
        };
        let Some((row, stored_id, from, date, subject)) = existing else {
            // The Message-ID's key is free. The message may still be stored under its stable
            // hash: its Message-ID was another message's when it was stored, and that message
            // is gone since (`forget`, retention). Rare: the known keys say when it cannot be.
            if !known.may_be_stored_under_hash(&message.stable_hash) {
                return Ok((key, None));
            }
            let (hash_key, stored) = stable_hash_row(statements, account, message, known)?;
            return Ok(match stored {
                Some((row, stored_id)) if stored_id.as_deref() == Some(id) => (hash_key, Some(row)),
                _ => (key, None),
            });
        };
        let same = stored_id.as_deref() == Some(id)
            && from == from_address(message)
            && date == message.date.map(|d| d.as_second())
            && subject == message.subject.as_deref().unwrap_or_default();
        if same {
            return Ok((key, Some(MessageRowId(row))));
        }
    }
    let (key, stored) = stable_hash_row(statements, account, message, known)?;
    Ok((key, stored.map(|(row, _)| row)))
}

/// A row found under a key form, with its Message-ID.
type StoredUnder = (MessageRowId, Option<String>);

/// The stable-hash form of the message's key (the short one, else the long one when the short
/// one is another message's), and the row stored under it, with its Message-ID.
fn stable_hash_row(
    statements: &mut Statements<'_>,
    account: AccountId,
    message: &mail::Message,
    known: &KnownKeys,
) -> anyhow::Result<(String, Option<StoredUnder>)> {
    let lookup = &mut statements.by_key_hash;
    let mut find = |key: &str| -> rusqlite::Result<Option<(i64, String, Option<String>)>> {
        if !known.may_be_stored(key) {
            return Ok(None);
        }
        lookup
            .query_row(params![account.0, key], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
    };
    let key = keys::of_stable_hash(&message.stable_hash);
    match find(&key)? {
        None => Ok((key, None)),
        Some((row, hash, id)) if hash == message.stable_hash => {
            Ok((key, Some((MessageRowId(row), id))))
        }
        Some(_) => {
            // The short form is another message's: the long one is ours alone.
            let key = keys::of_stable_hash_long(&message.stable_hash);
            let stored = find(&key)?.map(|(row, _, id)| (MessageRowId(row), id));
            Ok((key, stored))
        }
    }
}

/// What is kept of the body: the new, unquoted text, enough for opt-out and question phrases and
/// the digest's first line; never the quoted history or attachments.
pub const STORED_TEXT_CHARS: usize = 2000;

pub fn stored_text(text: &str) -> String {
    let mut text = mail::new_text_up_to(text, STORED_TEXT_CHARS);
    if let Some((end, _)) = text.char_indices().nth(STORED_TEXT_CHARS) {
        text.truncate(end);
    }
    text
}

fn from_address(message: &mail::Message) -> &str {
    message.from.as_ref().map_or("", |a| a.address.as_str())
}

/// Inserts a message unless its key is known; returns its row and whether it is new.
fn insert_message(
    statements: &mut Statements<'_>,
    account: AccountId,
    new: &NewMessage<'_>,
    next_id: &mut i64,
    now: jiff::Timestamp,
    known: &mut KnownKeys,
    thread_of: &mut ThreadOf<'_>,
) -> anyhow::Result<(MessageRowId, bool)> {
    let message = new.message;
    let (key, existing) = message_key(statements, account, message, known)?;
    if let Some(row) = existing {
        // A copy that came through a mailing list (List-Id, Precedence) makes the message a list
        // message, whichever copy was stored first: the owner's post to a list, stored from
        // Sent as `human`, made the list's address a candidate in some syncs and not in others
        // (found by the synthetic mailbox's plan test: the first sync's two connections store
        // Inbox and Sent batches in either order).
        if message.class == mail::Class::List {
            statements.list_copy.execute(params![row.0])?;
        }
        return Ok((row, false));
    }
    let row = MessageRowId(*next_id);
    *next_id += 1;
    let thread = thread_of(message, new.internal_date, new.thread, row);
    let time = mail::message_time(message.date, new.internal_date);
    let bounce = message.bounce.as_ref();
    // The joined lists and the recipients are written into buffers kept for the batch, and
    // bound from there: SQLite copies every text it is given anyway.
    let scratch = &mut statements.scratch;
    recipients::encode_into(
        &mut scratch.recipients,
        &message.to,
        &message.cc,
        &message.reply_to,
    );
    statements
        .insert_message
        .execute(params![
            row.0,
            account.0,
            key,
            message.message_id,
            message.stable_hash,
            joined(&message.in_reply_to, &mut scratch.in_reply_to),
            joined(&message.references, &mut scratch.references),
            from_address(message),
            message
                .from
                .as_ref()
                .and_then(|a| a.name.as_deref())
                .unwrap_or_default(),
            message.subject.as_deref().unwrap_or_default(),
            message.date.map(|d| d.as_second()),
            new.internal_date.as_second(),
            time.as_second(),
            message.class.as_str(),
            message.ooo_until.map(|d| d.to_string()),
            bounce.map(|b| b.kind.as_str()),
            bounce.map_or("", |b| joined(
                &b.recipients,
                &mut scratch.bounce_recipients
            )),
            message.candor.as_ref().map(|c| c.kind.as_str()),
            message.candor.as_ref().and_then(|c| c.outbox),
            new.text,
            now.as_second(),
            joined(&message.extra_message_ids, &mut scratch.extra_ids),
            thread.thread,
            scratch.recipients,
        ])
        .context("cannot insert a message")?;
    known.insert(&key, &message.stable_hash);
    for old in &thread.merged {
        statements
            .renumber_thread
            .execute(params![account.0, old, thread.thread])?;
    }
    Ok((row, true))
}

/// `list` joined with spaces, as stored: a single item as it is, several in `buffer`.
fn joined<'a>(list: &'a [String], buffer: &'a mut String) -> &'a str {
    match list {
        [] => "",
        [one] => one,
        [first, rest @ ..] => {
            buffer.clear();
            buffer.push_str(first);
            for item in rest {
                buffer.push(' ');
                buffer.push_str(item);
            }
            buffer
        }
    }
}

/// UIDs stored as present in a folder under its current UIDVALIDITY, ascending.
pub fn present_uids(
    tx: &Transaction<'_>,
    folder: FolderId,
    uidvalidity: u32,
) -> anyhow::Result<Vec<u32>> {
    let mut stmt = tx.prepare(
        "SELECT uid FROM locations WHERE folder_id = ?1 AND uidvalidity = ?2 AND present = 1 ORDER BY uid",
    )?;
    let uids = stmt
        .query_map(params![folder.0, uidvalidity], |r| r.get::<_, i64>(0))?
        .map(|r| r.map(|v| v as u32))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(uids)
}

/// How many messages of a folder under a UIDVALIDITY were skipped (recorded with the reason)
/// and have no present location: seen on the server, but not in [`present_uids`].
pub fn skipped_not_present(
    tx: &Transaction<'_>,
    folder: FolderId,
    uidvalidity: u32,
) -> anyhow::Result<usize> {
    let n: i64 = tx.query_row(
        "SELECT count(*) FROM skipped s WHERE s.folder_id = ?1 AND s.uidvalidity = ?2
         AND NOT EXISTS (SELECT 1 FROM locations l WHERE l.folder_id = ?1
                         AND l.uidvalidity = ?2 AND l.uid = s.uid AND l.present = 1)",
        params![folder.0, uidvalidity],
        |r| r.get(0),
    )?;
    Ok(n as usize)
}

/// Marks locations as gone (expunged or moved away); the messages stay in the history.
pub fn mark_gone(
    tx: &Transaction<'_>,
    folder: FolderId,
    uidvalidity: u32,
    uids: &[u32],
    now: jiff::Timestamp,
) -> anyhow::Result<usize> {
    let mut stmt = tx.prepare_cached(
        "UPDATE locations SET present = 0, gone_at = ?4
         WHERE folder_id = ?1 AND uidvalidity = ?2 AND uid = ?3 AND present = 1",
    )?;
    let mut n = 0;
    for uid in uids {
        n += stmt.execute(params![folder.0, uidvalidity, uid, now.as_second()])?;
    }
    Ok(n)
}

pub fn folder_synced(
    tx: &Transaction<'_>,
    folder: FolderId,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE folders SET last_sync_at = ?2 WHERE id = ?1",
        params![folder.0, now.as_second()],
    )?;
    Ok(())
}

/// Records a complete pass over every folder; the first one fixes the activation horizon.
pub fn account_synced(
    tx: &Transaction<'_>,
    account: AccountId,
    now: jiff::Timestamp,
) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE accounts SET last_sync_at = ?2, first_sync_at = coalesce(first_sync_at, ?2), last_error = ''
         WHERE id = ?1",
        params![account.0, now.as_second()],
    )?;
    Ok(())
}

pub fn account_error(tx: &Transaction<'_>, account: AccountId, error: &str) -> anyhow::Result<()> {
    tx.execute(
        "UPDATE accounts SET last_error = ?2 WHERE id = ?1",
        params![account.0, error],
    )?;
    Ok(())
}

/// What the threader needs of every stored message of an account, in row order: the cold start
/// of incremental threading.
pub fn thread_rows(tx: &Transaction<'_>, account: AccountId) -> anyhow::Result<Vec<ThreadRow>> {
    let mut rows: Vec<ThreadRow> = Vec::new();
    let mut stmt = tx.prepare(
        "SELECT id, message_id, extra_ids, in_reply_to, refs, time, subject, from_addr, recipients,
             thread_id
         FROM messages WHERE account_id = ?1 ORDER BY id",
    )?;
    let mapped = stmt.query_map([account.0], |r| {
        let mut to = Vec::new();
        let mut cc = Vec::new();
        for recipient in recipients::decode(&r.get::<_, String>(8)?) {
            match recipient.field {
                Field::To => to.push(recipient.address.into_owned()),
                Field::Cc => cc.push(recipient.address.into_owned()),
                Field::ReplyTo => {}
            }
        }
        Ok(ThreadRow {
            id: MessageRowId(r.get(0)?),
            message_id: r.get(1)?,
            extra_ids: split_ids(&r.get::<_, String>(2)?),
            in_reply_to: split_ids(&r.get::<_, String>(3)?),
            references: split_ids(&r.get::<_, String>(4)?),
            time: r.get(5)?,
            subject: r.get(6)?,
            from: r.get(7)?,
            to,
            cc,
            thread: r.get(9)?,
        })
    })?;
    for row in mapped {
        rows.push(row?);
    }
    Ok(rows)
}

fn split_ids(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// One message as the threader needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadRow {
    pub id: MessageRowId,
    pub message_id: Option<String>,
    pub extra_ids: Vec<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Unix seconds.
    pub time: i64,
    pub subject: String,
    pub from: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    /// The thread stored for it (`messages.thread_id`).
    pub thread: i64,
}

/// Sets the stored thread of each message of `threads` (row, thread), in the caller's
/// transaction; a row deleted meanwhile is left alone.
pub fn set_threads(tx: &Transaction<'_>, threads: &[(MessageRowId, i64)]) -> anyhow::Result<()> {
    let mut update = tx.prepare_cached("UPDATE messages SET thread_id = ?2 WHERE id = ?1")?;
    for (row, thread) in threads {
        update.execute(params![row.0, thread])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ingest_settings_raise_the_cache_and_the_checkpoint_interval() {
        let store = crate::store::Store::open_in_memory().expect("in-memory store");
        let (cache, wal, page) = store
            .call_blocking(|tx| {
                use_ingest_settings(tx)?;
                let cache: i64 = tx.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
                let wal: i64 = tx.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
                let page: i64 = tx.query_row("PRAGMA page_size", [], |r| r.get(0))?;
                Ok((cache, wal, page))
            })
            .expect("pragmas");
        assert_eq!(cache, -INGEST_CACHE_KIB);
        assert_eq!(page, 16 * 1024);
        assert_eq!(wal, 2560, "40 MiB of 16 KiB pages");
    }

    #[test]
    fn the_statements_run_for_every_message_build_no_temporary_index() {
        // An IN list of more than two constants in a CHECK made SQLite build a temporary index
        // for every message inserted (migration 9). Renumbering a thread needs one (it updates
        // the index it searches), but runs only when a message joins two threads.
        let store = crate::store::Store::open_in_memory().unwrap();
        store
            .call_blocking(|tx| {
                let statements = Statements::prepare(tx)?;
                for (name, sql) in [
                    ("by_key", statements.by_key.expanded_sql().unwrap()),
                    (
                        "by_key_hash",
                        statements.by_key_hash.expanded_sql().unwrap(),
                    ),
                    (
                        "insert_message",
                        statements.insert_message.expanded_sql().unwrap(),
                    ),
                    (
                        "insert_location",
                        statements.insert_location.expanded_sql().unwrap(),
                    ),
                    (
                        "update_location",
                        statements.update_location.expanded_sql().unwrap(),
                    ),
                    ("insert_locations", INSERT_LOCATIONS.clone()),
                ] {
                    // Parameters left unbound (NULL): EXPLAIN only compiles the statement.
                    let mut explain = tx.prepare(&format!("EXPLAIN {sql}"))?;
                    let mut rows = explain.raw_query();
                    let mut program = Vec::new();
                    while let Some(row) = rows.next()? {
                        program.push(row.get::<_, String>(1)?);
                    }
                    assert!(
                        !program.iter().any(|op| op == "OpenEphemeral"),
                        "{name} builds a temporary index: {program:?}"
                    );
                }
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn the_stored_text_is_the_new_text_cut_at_a_character_count() {
        let long = "é".repeat(STORED_TEXT_CHARS + 500);
        let stored = stored_text(&format!(
            "{long}\nOn Mon, 2 Mar 2026, Jane <j@x> wrote:\n> old"
        ));
        assert_eq!(stored.chars().count(), STORED_TEXT_CHARS);
        assert!(stored.chars().all(|c| c == 'é'));
        assert_eq!(
            stored_text("Thanks!\n\nOn Mon, 2 Mar 2026, Jane <j@x> wrote:\n> old"),
            "Thanks!"
        );
    }

    /// A new message's row id is never below the `min_id` the caller gives (the threader's next
    /// key, see `Threader::next_key`), even when the store's own ids are lower.
    #[test]
    fn new_rows_take_ids_from_min_id_on() {
        let store = crate::store::Store::open_in_memory().unwrap();
        store
            .call_blocking(|tx| {
                let account = ensure_account(tx, "a", jiff::Timestamp::UNIX_EPOCH)?;
                let folder = ensure_folder(tx, account, "INBOX", "inbox")?;
                let at = jiff::Timestamp::from_second(1_700_000_000).unwrap();
                let message = parsed(
                    "From: a@x.example\nTo: b@y.example\nDate: Tue, 3 Mar 2026 10:00:00 +0000\nMessage-ID: <m1@x>\nSubject: Hi\n\nHello\n",
                );
                let mut rows = Vec::new();
                store_batch(
                    tx,
                    account,
                    folder.id,
                    1,
                    &[Fetched::parsed(1, at, message)],
                    2,
                    at,
                    &mut KnownKeys::unknown(),
                    40,
                    &mut |_, _, _, row| {
                        rows.push(row.0);
                        ThreadChoice {
                            thread: row.0,
                            merged: Vec::new(),
                        }
                    },
                )?;
                assert_eq!(rows, [40]);
                Ok(())
            })
            .unwrap();
    }

    fn parsed(raw: &str) -> mail::Message {
        mail::parse(raw.replace('\n', "\r\n").as_bytes()).expect("test message parses")
    }

    /// Stores `message` at `uid` and says whether it was new.
    fn store_one(
        tx: &Transaction<'_>,
        known: &mut KnownKeys,
        message: &mail::Message,
        uid: u32,
    ) -> bool {
        let account = ensure_account(tx, "a", jiff::Timestamp::UNIX_EPOCH).unwrap();
        let folder = ensure_folder(tx, account, "INBOX", "inbox").unwrap();
        let at = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        let batch = [Fetched::parsed(uid, at, message.clone())];
        let outcome = store_batch(
            tx,
            account,
            folder.id,
            1,
            &batch,
            uid + 1,
            at,
            known,
            1,
            &mut |_, _, _, row| ThreadChoice {
                thread: row.0,
                merged: Vec::new(),
            },
        )
        .unwrap();
        outcome.new_messages == 1
    }

    /// The owner's post to a mailing list is in Sent as she wrote it (`human`) and in the Inbox
    /// as the list delivered it (List-Id: `list`). The message is a list message whichever copy
    /// is stored first: the first sync's two connections store them in either order, and from
    /// the Sent copy alone the list's address became a candidate (found by the synthetic
    /// mailbox's plan test, in one run of about twenty).
    #[test]
    fn a_copy_from_a_mailing_list_makes_the_message_a_list_message_in_either_order() {
        let sent = parsed(
            "From: Dana <dana@agency.example>\nTo: jobs@lists.example\nDate: Mon, 4 Mar 2024 07:29:20 -0500\nMessage-ID: <post1@agency.example>\nSubject: Hiring: backend\n\nWe are hiring.\n",
        );
        let via_list = parsed(
            "From: Dana <dana@agency.example>\nTo: jobs@lists.example\nDate: Mon, 4 Mar 2024 07:29:20 -0500\nMessage-ID: <post1@agency.example>\nSubject: Hiring: backend\nList-Id: Jobs <jobs.lists.example>\nPrecedence: list\n\nWe are hiring.\n",
        );
        assert_eq!(
            (sent.class, via_list.class),
            (mail::Class::Human, mail::Class::List)
        );
        for order in [[&sent, &via_list], [&via_list, &sent]] {
            let store = crate::store::Store::open_in_memory().unwrap();
            let class = store
                .call_blocking(move |tx| {
                    let mut known = KnownKeys::unknown();
                    assert!(store_one(tx, &mut known, order[0], 1));
                    assert!(!store_one(tx, &mut known, order[1], 2));
                    Ok(
                        tx.query_row("SELECT group_concat(class) FROM messages", [], |r| {
                            r.get::<_, String>(0)
                        })?,
                    )
                })
                .unwrap();
            assert_eq!(class, "list", "first stored: {:?}", order[0].class);
        }
    }

    #[test]
    fn a_uid_stored_again_takes_its_new_message_and_is_present_again() {
        let store = crate::store::Store::open_in_memory().expect("in-memory store");
        store
            .call_blocking(|tx| {
                let mut known = KnownKeys::unknown();
                let head = "From: c@x\nDate: Tue, 1 Sep 2026 10:00:00 +0000\n";
                let a = parsed(&format!("{head}Message-ID: <a@x>\nSubject: one\n\nhi\n"));
                let b = parsed(&format!("{head}Message-ID: <b@x>\nSubject: two\n\nhi\n"));
                assert!(store_one(tx, &mut known, &a, 1));
                let location = |tx: &Transaction<'_>| -> rusqlite::Result<(String, i64, bool)> {
                    tx.query_row(
                        "SELECT m.message_id, l.present, l.gone_at IS NULL
                         FROM locations l JOIN messages m ON m.id = l.message_id WHERE l.uid = 1",
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                };
                let folder: i64 = tx.query_row("SELECT id FROM folders", [], |r| r.get(0))?;
                let gone = mark_gone(tx, FolderId(folder), 1, &[1], jiff::Timestamp::UNIX_EPOCH)
                    .expect("mark gone");
                assert_eq!(gone, 1);
                assert_eq!(location(tx)?, ("a@x".to_owned(), 0, false));
                // The same UID under the same UIDVALIDITY again (a batch fetched again after a
                // lost commit), here with another message: one location, present, the new one's.
                assert!(store_one(tx, &mut known, &b, 1));
                assert_eq!(location(tx)?, ("b@x".to_owned(), 1, true));
                let locations: i64 =
                    tx.query_row("SELECT count(*) FROM locations", [], |r| r.get(0))?;
                assert_eq!(locations, 1);
                Ok(())
            })
            .expect("locations");
    }

    #[test]
    fn locations_of_a_large_batch_are_written_whether_new_or_stored_before() {
        let store = crate::store::Store::open_in_memory().expect("in-memory store");
        store
            .call_blocking(|tx| {
                let account = ensure_account(tx, "a", jiff::Timestamp::UNIX_EPOCH)?;
                let folder = ensure_folder(tx, account, "INBOX", "inbox")?.id;
                let at = jiff::Timestamp::from_second(1_700_000_000).unwrap();
                let message = |n: u32| {
                    parsed(&format!(
                        "From: c@x\nDate: Tue, 1 Sep 2026 10:00:00 +0000\nMessage-ID: <{n}@x>\n\
                         Subject: s{n}\n\nhi\n"
                    ))
                };
                let mut known = KnownKeys::load(tx, account.0)?;
                let mut store = |uids: &mut dyn Iterator<Item = u32>, shift: u32| {
                    let batch: Vec<Fetched> = uids
                        .map(|uid| Fetched::parsed(uid, at, message(uid + shift)))
                        .collect();
                    let next_uid = batch.last().map_or(1, |f| f.uid() + 1);
                    store_batch(
                        tx,
                        account,
                        folder,
                        1,
                        &batch,
                        next_uid,
                        at,
                        &mut known,
                        1,
                        &mut |_, _, _, row| ThreadChoice {
                            thread: row.0,
                            merged: Vec::new(),
                        },
                    )
                };
                // New UIDs in two full statements and a remainder, then with gaps.
                let count = 2 * LOCATIONS_PER_INSERT as u32 + 7;
                store(&mut (1..=count), 0)?;
                store(
                    &mut (1..=LOCATIONS_PER_INSERT as u32 + 1).map(|n| 1000 + 3 * n),
                    0,
                )?;
                let gone = mark_gone(tx, folder, 1, &[2, 3], at)?;
                assert_eq!(gone, 2);
                // UIDs stored before, among new ones: each takes its new message, present.
                store(&mut (2..=LOCATIONS_PER_INSERT as u32 + 2), 5000)?;
                let wrong: i64 = tx.query_row(
                    "SELECT count(*) FROM locations l JOIN messages m ON m.id = l.message_id
                     WHERE l.present != 1 OR l.gone_at IS NOT NULL
                        OR m.message_id != (CASE WHEN l.uid BETWEEN 2 AND ?1
                            THEN l.uid + 5000 ELSE l.uid END) || '@x'",
                    [LOCATIONS_PER_INSERT as i64 + 2],
                    |r| r.get(0),
                )?;
                assert_eq!(wrong, 0);
                let locations: i64 =
                    tx.query_row("SELECT count(*) FROM locations", [], |r| r.get(0))?;
                assert_eq!(
                    locations,
                    i64::from(count) + LOCATIONS_PER_INSERT as i64 + 1
                );
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn keys_recognise_each_message_once_even_when_a_short_form_is_taken() {
        // Once looking every key up, once with the keys known to the session (as the sync does).
        for loaded in [false, true] {
            keys_recognise_each_message_once(loaded);
        }
    }

    fn keys_recognise_each_message_once(loaded: bool) {
        let store = crate::store::Store::open_in_memory().expect("in-memory store");
        store
            .call_blocking(|tx| {
                let account = ensure_account(tx, "a", jiff::Timestamp::UNIX_EPOCH)?;
                let load = |tx: &Transaction<'_>| -> rusqlite::Result<KnownKeys> {
                    if loaded {
                        KnownKeys::load(tx, account.0)
                    } else {
                        Ok(KnownKeys::unknown())
                    }
                };
                let mut known = load(tx)?;
                let head = "From: c@x\nDate: Tue, 1 Sep 2026 10:00:00 +0000\n";
                let a = parsed(&format!("{head}Message-ID: <a@x>\nSubject: one\n\nhi\n"));
                assert!(
                    store_one(tx, &mut known, &a, 1),
                    "a new Message-ID is a new message"
                );
                assert!(
                    !store_one(tx, &mut known, &a, 2),
                    "and the same message again is known"
                );
                // Same Message-ID, different Subject: a different message, keyed by its hash.
                let b = parsed(&format!("{head}Message-ID: <a@x>\nSubject: two\n\nhi\n"));
                assert!(store_one(tx, &mut known, &b, 3));
                assert!(!store_one(tx, &mut known, &b, 4));
                // A short form already held by another message (a digest collision, simulated by
                // a row written under this message's forms): the message still gets its own key.
                let c = parsed(&format!("{head}Message-ID: <c@x>\nSubject: three\n\nhi\n"));
                let d = parsed(&format!("{head}Subject: four\n\nno id\n"));
                tx.execute(
                    "INSERT INTO messages (id, account_id, key, message_id, stable_hash,
                         internal_date, time, class, stored_at)
                     SELECT 100, id, ?1, 'other@x', 'other', 0, 0, 'human', 0 FROM accounts
                     UNION ALL
                     SELECT 101, id, ?2, NULL, 'other', 0, 0, 'human', 0 FROM accounts",
                    params![
                        keys::of_message_id("c@x"),
                        keys::of_stable_hash(&d.stable_hash)
                    ],
                )?;
                // Rows written behind the session's back: a new session reads them.
                known = load(tx)?;
                assert!(
                    store_one(tx, &mut known, &c, 5),
                    "c is not the row holding its short form"
                );
                assert!(!store_one(tx, &mut known, &c, 6));
                assert!(
                    store_one(tx, &mut known, &d, 7),
                    "d is not the row holding its short form"
                );
                assert!(!store_one(tx, &mut known, &d, 8));
                let long: i64 = tx.query_row(
                    "SELECT count(*) FROM messages WHERE key = ?1",
                    [keys::of_stable_hash_long(&d.stable_hash)],
                    |r| r.get(0),
                )?;
                assert_eq!(long, 1, "d fell back to the long form");
                let rows: i64 = tx.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
                assert_eq!(rows, 6);
                // m's Message-ID is n's, so m is keyed by its hash. Once n is gone (`forget`),
                // the Message-ID's key is free, and m met again is still m.
                let n = parsed(&format!("{head}Message-ID: <n@x>\nSubject: five\n\nhi\n"));
                let m = parsed(&format!("{head}Message-ID: <n@x>\nSubject: six\n\nhi\n"));
                assert!(store_one(tx, &mut known, &n, 9));
                assert!(store_one(tx, &mut known, &m, 10));
                tx.execute(
                    "DELETE FROM messages WHERE key = ?1",
                    [keys::of_message_id("n@x")],
                )?;
                assert!(
                    !store_one(tx, &mut known, &m, 11),
                    "m is found under its hash when its Message-ID's key is free"
                );
                assert!(
                    store_one(tx, &mut known, &n, 12),
                    "n, met again, is new again"
                );
                let rows: i64 = tx.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?;
                assert_eq!(rows, 8);
                Ok(())
            })
            .unwrap();
    }
}
