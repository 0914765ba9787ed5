//! Numbered migrations and the schema-version guard.
//!
//! The version lives in SQLite's `user_version`. Each migration runs in its own transaction
//! together with the version bump, so a crash mid-migration leaves the previous version intact.
//! Never edit a migration that has shipped: add a new one.

use rusqlite::Connection;

/// The migrations, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: accounts, folders with their cursors, messages with their locations and addresses.
    r#"
    CREATE TABLE accounts (
        id            INTEGER PRIMARY KEY,
        name          TEXT    NOT NULL UNIQUE,
        created_at    INTEGER NOT NULL,
        first_sync_at INTEGER,             -- end of the first complete sync: the activation horizon
        last_sync_at  INTEGER,
        last_error    TEXT    NOT NULL DEFAULT ''
    ) STRICT;

    CREATE TABLE folders (
        id           INTEGER PRIMARY KEY,
        account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name         TEXT    NOT NULL,     -- the server's folder name
        role         TEXT    NOT NULL DEFAULT '',   -- inbox | sent | drafts | scope | hold | outcome:<name>
        uidvalidity  INTEGER,              -- NULL until first examined
        next_uid     INTEGER NOT NULL DEFAULT 1,    -- every UID below this has been stored
        last_sync_at INTEGER,
        UNIQUE (account_id, name)
    ) STRICT;

    CREATE TABLE messages (
        id            INTEGER PRIMARY KEY,
        account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        key           TEXT    NOT NULL,    -- the Message-ID, else "hash:<stable hash>" (SPEC §2)
        message_id    TEXT,                -- as written, without <>
        stable_hash   TEXT    NOT NULL,
        in_reply_to   TEXT    NOT NULL DEFAULT '',  -- space-separated ids
        refs          TEXT    NOT NULL DEFAULT '',  -- space-separated ids
        from_addr     TEXT    NOT NULL DEFAULT '',
        from_name     TEXT    NOT NULL DEFAULT '',
        subject       TEXT    NOT NULL DEFAULT '',
        date_header   INTEGER,             -- unix seconds, when present and parseable
        internal_date INTEGER NOT NULL,    -- unix seconds, of the first location seen
        time          INTEGER NOT NULL,    -- the message time of SPEC §2, unix seconds
        class         TEXT    NOT NULL CHECK (class IN ('human','auto_reply','bounce','list','role','own')),
        ooo_until     TEXT,                -- YYYY-MM-DD
        bounce_kind   TEXT    CHECK (bounce_kind IN ('hard','soft')),
        bounce_rcpts  TEXT    NOT NULL DEFAULT '',  -- space-separated addresses
        candor_kind   TEXT,
        candor_outbox INTEGER,
        body_text     TEXT    NOT NULL DEFAULT '',  -- the new (unquoted) text, truncated
        stored_at     INTEGER NOT NULL,
        UNIQUE (account_id, key)
    ) STRICT;
    CREATE INDEX messages_by_time ON messages (account_id, time);
    CREATE INDEX messages_by_message_id ON messages (account_id, message_id);

    CREATE TABLE message_addresses (
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        field      TEXT    NOT NULL CHECK (field IN ('from','to','cc','reply_to')),
        address    TEXT    NOT NULL,       -- lowercased
        name       TEXT    NOT NULL DEFAULT '',
        PRIMARY KEY (message_id, field, address)
    ) STRICT;
    CREATE INDEX message_addresses_by_address ON message_addresses (address);

    CREATE TABLE locations (
        folder_id   INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        uidvalidity INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        present     INTEGER NOT NULL DEFAULT 1,     -- 0 once expunged or moved away
        seen_at     INTEGER NOT NULL,
        gone_at     INTEGER,
        PRIMARY KEY (folder_id, uidvalidity, uid)
    ) STRICT;
    CREATE INDEX locations_by_message ON locations (message_id);

    CREATE TABLE skipped (
        folder_id   INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        uidvalidity INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        reason      TEXT    NOT NULL,
        at          INTEGER NOT NULL,
        PRIMARY KEY (folder_id, uidvalidity, uid)
    ) STRICT;
    "#,
    // 2: threads on messages, extra Message-IDs, candidate merges and marks.
    r#"
    ALTER TABLE messages ADD COLUMN thread_id INTEGER NOT NULL DEFAULT 0;  -- the smallest message id of its thread
    ALTER TABLE messages ADD COLUMN extra_ids TEXT NOT NULL DEFAULT '';     -- further Message-ID headers
    CREATE INDEX messages_by_thread ON messages (account_id, thread_id);

    CREATE TABLE candidate_merges (
        account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        address      TEXT    NOT NULL,    -- lowercased
        into_address TEXT    NOT NULL,
        at           INTEGER NOT NULL,
        PRIMARY KEY (account_id, address)
    ) STRICT;

    CREATE TABLE candidate_marks (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        address    TEXT    NOT NULL,      -- lowercased address (or domain, for exclusions)
        added      INTEGER NOT NULL DEFAULT 0,   -- candor candidate add (scope.mode = "explicit")
        excluded   INTEGER NOT NULL DEFAULT 0,   -- candor candidate exclude
        at         INTEGER NOT NULL,
        PRIMARY KEY (account_id, address)
    ) STRICT;
    "#,
    // 3: the owner's decisions per candidate and the outbox (SPEC §6, §8).
    r#"
    CREATE TABLE candidate_states (
        account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        address        TEXT    NOT NULL,    -- the candidate's canonical address
        paused         INTEGER NOT NULL DEFAULT 0,  -- paused by the owner (until paused_until, or indefinitely)
        paused_until   TEXT,                -- YYYY-MM-DD
        paused_at      INTEGER,
        resumed_at     INTEGER,
        decided        TEXT CHECK (decided IN ('position_filled','not_selected','no_current_role','withdrawn')),
        decided_at     INTEGER,
        updated_at     INTEGER NOT NULL,
        PRIMARY KEY (account_id, address)
    ) STRICT;

    CREATE TABLE outbox (
        id           INTEGER PRIMARY KEY,
        account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        candidate    TEXT    NOT NULL,      -- canonical address of the conversation
        recipient    TEXT    NOT NULL,      -- the one To address
        kind         TEXT    NOT NULL CHECK (kind IN ('follow_up_1','follow_up_2','closure_silence',
                         'closure_position_filled','closure_not_selected','closure_no_current_role',
                         'closure_withdrawn','digest')),
        state        TEXT    NOT NULL CHECK (state IN ('queued','sending','sent','unknown','failed',
                         'cancelled','drafted','recorded')),
        message_id   TEXT    NOT NULL UNIQUE,   -- final, without <>, chosen before any send
        reply_to     INTEGER,                -- messages.id of the message answered
        due          INTEGER NOT NULL,
        attempts     INTEGER NOT NULL DEFAULT 0,
        next_try_at  INTEGER,
        last_error   TEXT    NOT NULL DEFAULT '',
        raw          BLOB    NOT NULL,       -- the exact bytes sent (and appended)
        copied       INTEGER NOT NULL DEFAULT 0,  -- the copy reached Sent (or Drafts)
        created_at   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL,
        done_at      INTEGER                 -- sent, drafted, recorded, failed or cancelled
    ) STRICT;
    CREATE INDEX outbox_by_state ON outbox (account_id, state);
    CREATE INDEX outbox_by_candidate ON outbox (account_id, candidate);
    "#,
    // 4: digests, one per account and period slot (SPEC §10).
    r#"
    CREATE TABLE digests (
        account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        slot         TEXT    NOT NULL,      -- the local date of the scheduled slot, or "manual:<unix>"
        period_start INTEGER NOT NULL,
        period_end   INTEGER NOT NULL,
        outbox_id    INTEGER REFERENCES outbox(id) ON DELETE SET NULL,
        created_at   INTEGER NOT NULL,
        PRIMARY KEY (account_id, slot)
    ) STRICT;
    "#,
    // 5: what the daemon is doing per account, for `candor status` beside it (issue 8). Runtime
    //    state only: rewritten by every daemon, safe to lose.
    r#"
    CREATE TABLE daemon_status (
        account_id  INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        pid         INTEGER NOT NULL,      -- the daemon that wrote the row
        state       TEXT    NOT NULL,      -- connecting | syncing | sending | idle | polling | reconnecting | auth_paused | stopped
        detail      TEXT    NOT NULL DEFAULT '',
        next_action TEXT    NOT NULL DEFAULT '',
        next_at     INTEGER,               -- unix seconds of next_action, when known
        since       INTEGER NOT NULL,      -- when the state began
        updated_at  INTEGER NOT NULL
    ) STRICT;
    "#,
    // 6: cheaper ingest (issue 4). Messages lose an index no query used (lookups go through the
    //    key); locations and addresses become WITHOUT ROWID tables, keyed by their primary key
    //    alone, so each insert writes one b-tree less.
    r#"
    DROP INDEX messages_by_message_id;

    CREATE TABLE locations_new (
        folder_id   INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        uidvalidity INTEGER NOT NULL,
        uid         INTEGER NOT NULL,
        message_id  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        present     INTEGER NOT NULL DEFAULT 1,     -- 0 once expunged or moved away
        seen_at     INTEGER NOT NULL,
        gone_at     INTEGER,
        PRIMARY KEY (folder_id, uidvalidity, uid)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO locations_new (folder_id, uidvalidity, uid, message_id, present, seen_at, gone_at)
        SELECT folder_id, uidvalidity, uid, message_id, present, seen_at, gone_at FROM locations;
    DROP TABLE locations;
    ALTER TABLE locations_new RENAME TO locations;
    CREATE INDEX locations_by_message ON locations (message_id);

    CREATE TABLE message_addresses_new (
        message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
        field      TEXT    NOT NULL CHECK (field IN ('from','to','cc','reply_to')),
        address    TEXT    NOT NULL,       -- lowercased
        name       TEXT    NOT NULL DEFAULT '',
        PRIMARY KEY (message_id, field, address)
    ) STRICT, WITHOUT ROWID;
    INSERT INTO message_addresses_new (message_id, field, address, name)
        SELECT message_id, field, address, name FROM message_addresses;
    DROP TABLE message_addresses;
    ALTER TABLE message_addresses_new RENAME TO message_addresses;
    CREATE INDEX message_addresses_by_address ON message_addresses (address);
    "#,
    // 7: cheaper ingest (issue 4). A message's To, Cc and Reply-To move into its own row
    //    (`recipients`, see store/recipients.rs): the address table and its index cost a third
    //    of a first sync's store time. The From address was already in the row.
    r#"
    ALTER TABLE messages ADD COLUMN recipients TEXT NOT NULL DEFAULT '';
    UPDATE messages SET recipients = (
        SELECT group_concat(
                   a.field || char(9)
                   || replace(replace(replace(replace(a.address, '\', '\\'),
                          char(9), '\t'), char(13), '\r'), char(10), '\n')
                   || char(9)
                   || replace(replace(replace(replace(a.name, '\', '\\'),
                          char(9), '\t'), char(13), '\r'), char(10), '\n')
                   || char(10),
                   '' ORDER BY a.field, a.address)
        FROM message_addresses a WHERE a.message_id = messages.id AND a.field != 'from')
    WHERE id IN (SELECT message_id FROM message_addresses WHERE field != 'from');
    DROP TABLE message_addresses;
    "#,
    // 8: cheaper ingest (issue 4). `messages.key` holds a short digest of the key instead of the
    //    key itself (store/keys.rs): its unique index was 9 MB per 100k messages, more than the
    //    page cache. The rewrite needs SHA-256, so it is Rust: see `rust_step`.
    "",
    // 9: cheaper ingest (issue 4). SQLite checks `x IN (list of more than two constants)` by
    //    building a temporary index of the list, once per statement run: `class IN (six classes)`
    //    built one for every message inserted, about a tenth of a first sync's store time. The
    //    same check written as equalities builds none. SQLite cannot alter a CHECK, so the table
    //    is rebuilt (https://sqlite.org/lang_altertable.html#otheralter), its columns in the same
    //    order; `migrate` turns foreign keys off around it, or dropping the old table would
    //    delete every location through their ON DELETE CASCADE.
    r#"
    CREATE TABLE messages_new (
        id            INTEGER PRIMARY KEY,
        account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        key           TEXT    NOT NULL,
        message_id    TEXT,
        stable_hash   TEXT    NOT NULL,
        in_reply_to   TEXT    NOT NULL DEFAULT '',
        refs          TEXT    NOT NULL DEFAULT '',
        from_addr     TEXT    NOT NULL DEFAULT '',
        from_name     TEXT    NOT NULL DEFAULT '',
        subject       TEXT    NOT NULL DEFAULT '',
        date_header   INTEGER,
        internal_date INTEGER NOT NULL,
        time          INTEGER NOT NULL,
        class         TEXT    NOT NULL CHECK (class = 'human' OR class = 'auto_reply'
                          OR class = 'bounce' OR class = 'list' OR class = 'role' OR class = 'own'),
        ooo_until     TEXT,
        bounce_kind   TEXT    CHECK (bounce_kind IN ('hard','soft')),
        bounce_rcpts  TEXT    NOT NULL DEFAULT '',
        candor_kind   TEXT,
        candor_outbox INTEGER,
        body_text     TEXT    NOT NULL DEFAULT '',
        stored_at     INTEGER NOT NULL,
        thread_id     INTEGER NOT NULL DEFAULT 0,
        extra_ids     TEXT    NOT NULL DEFAULT '',
        recipients    TEXT    NOT NULL DEFAULT '',
        UNIQUE (account_id, key)
    ) STRICT;
    INSERT INTO messages_new (id, account_id, key, message_id, stable_hash, in_reply_to, refs,
            from_addr, from_name, subject, date_header, internal_date, time, class, ooo_until,
            bounce_kind, bounce_rcpts, candor_kind, candor_outbox, body_text, stored_at,
            thread_id, extra_ids, recipients)
        SELECT id, account_id, key, message_id, stable_hash, in_reply_to, refs,
            from_addr, from_name, subject, date_header, internal_date, time, class, ooo_until,
            bounce_kind, bounce_rcpts, candor_kind, candor_outbox, body_text, stored_at,
            thread_id, extra_ids, recipients
        FROM messages;
    DROP TABLE messages;
    ALTER TABLE messages_new RENAME TO messages;
    CREATE INDEX messages_by_time ON messages (account_id, time);
    CREATE INDEX messages_by_thread ON messages (account_id, thread_id);
    "#,
    // 10: where an outbox row's latest attempt went (`smtp` or `drafts`): recovery after a crash
    //     looks for the email there, even when the account's mode has changed since (a row
    //     interrupted in SMTP and looked for in Drafts alone went back to the queue).
    //     The column is added in Rust (`rust_step`), only where it is missing.
    "",
];

/// Version 10 (index 9): `outbox.channel`, added only where missing, so that a store whose version
/// was set back (as the tests of an upgrade under a running daemon do) migrates all the same.
fn add_outbox_channel(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    let present: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('outbox') WHERE name = 'channel')",
        [],
        |r| r.get(0),
    )?;
    if !present {
        tx.execute_batch(
            "ALTER TABLE outbox ADD COLUMN channel TEXT CHECK (channel IN ('smtp','drafts'))",
        )?;
    }
    Ok(())
}

/// Migrations that rebuild a table other tables reference: they run with foreign keys off, and
/// the references are checked before they commit (the rebuild procedure of SQLite's manual).
fn rebuilds_a_parent_table(index: usize) -> bool {
    index == 8
}

/// The part of a migration that SQL cannot express, run after its SQL in the same transaction.
fn rust_step(index: usize) -> Option<fn(&rusqlite::Transaction<'_>) -> rusqlite::Result<()>> {
    match index {
        7 => Some(super::keys::migrate),
        9 => Some(add_outbox_channel),
        _ => None,
    }
}

/// The schema version this candor writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("the database has schema version {found}, newer than this candor knows")]
    TooNew { found: i64 },
    #[error("the database needs migrating from version {found}, but {holder} is running on it")]
    InUse { holder: String, found: i64 },
    #[error(
        "migrating the database to schema version {version} would leave {broken} rows pointing \
         at rows that do not exist; nothing was changed"
    )]
    BrokenReferences { version: i64, broken: i64 },
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
}

pub fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the database to [`LATEST_VERSION`], one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let found = version(conn)?;
    if found > LATEST_VERSION {
        return Err(MigrateError::TooNew { found });
    }
    for index in found as usize..MIGRATIONS.len() {
        if rebuilds_a_parent_table(index) {
            // The pragma is a no-op inside a transaction: it goes around it.
            let foreign_keys: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
            conn.pragma_update(None, "foreign_keys", false)?;
            let migrated = migrate_one(conn, index, true);
            conn.pragma_update(None, "foreign_keys", foreign_keys)?;
            migrated?;
        } else {
            migrate_one(conn, index, false)?;
        }
    }
    Ok(())
}

/// Applies migration `index` in its own transaction, unless another process already did;
/// `check_references` fails it (rolled back) if it leaves rows whose foreign key finds no row.
fn migrate_one(
    conn: &mut Connection,
    index: usize,
    check_references: bool,
) -> Result<(), MigrateError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    // Another process may have migrated while we waited for the lock.
    if version(&tx)? > index as i64 {
        return Ok(());
    }
    let broken_references = |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<i64> {
        if !check_references {
            return Ok(0);
        }
        tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
    };
    // Only what the migration breaks counts: a reference broken before it is not its doing.
    let before = broken_references(&tx)?;
    apply(&tx, index)?;
    let after = broken_references(&tx)?;
    if after > before {
        return Err(MigrateError::BrokenReferences {
            version: index as i64 + 1,
            broken: after - before,
        });
    }
    tx.commit()?;
    Ok(())
}

/// Migration `index` in the caller's transaction: its SQL, its Rust step, the version bump.
fn apply(tx: &rusqlite::Transaction<'_>, index: usize) -> rusqlite::Result<()> {
    tx.execute_batch(MIGRATIONS[index])?;
    if let Some(step) = rust_step(index) {
        step(tx)?;
    }
    tx.pragma_update(None, "user_version", index as i64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_an_empty_database_to_the_latest_version() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST_VERSION);
        // Running again is a no-op.
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST_VERSION);
    }

    /// The one text column of every row `sql` selects, in order.
    fn strings(conn: &Connection, sql: &str) -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A database with the first `n` migrations applied, foreign keys on.
    fn at_version(n: usize) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", "ON").unwrap();
        for index in 0..n {
            let tx = conn.transaction().unwrap();
            apply(&tx, index).unwrap();
            tx.commit().unwrap();
        }
        conn
    }

    #[test]
    fn migration_6_keeps_locations_and_addresses() {
        let conn = at_version(5);
        conn.execute_batch(
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0);
             INSERT INTO folders (id, account_id, name, role) VALUES (1, 1, 'INBOX', 'inbox');
             INSERT INTO messages (id, account_id, key, stable_hash, internal_date, time, class, stored_at)
                 VALUES (7, 1, 'k@x', 'h', 0, 0, 'human', 0);
             INSERT INTO locations (folder_id, uidvalidity, uid, message_id, present, seen_at, gone_at)
                 VALUES (1, 9, 3, 7, 0, 5, 6);
             INSERT INTO message_addresses (message_id, field, address, name)
                 VALUES (7, 'from', 'c@x', 'C');",
        )
        .unwrap();
        conn.execute_batch(MIGRATIONS[5]).unwrap();
        let location: (i64, i64, i64, i64, i64, i64, Option<i64>) = conn
            .query_row("SELECT * FROM locations", [], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap();
        assert_eq!(location, (1, 9, 3, 7, 0, 5, Some(6)));
        let address: (i64, String, String, String) = conn
            .query_row("SELECT * FROM message_addresses", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap();
        assert_eq!(address, (7, "from".into(), "c@x".into(), "C".into()));
        // The cascades still hold on the rebuilt tables.
        conn.execute("DELETE FROM messages WHERE id = 7", [])
            .unwrap();
        let left: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM locations) + (SELECT count(*) FROM message_addresses)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn migration_7_moves_recipients_into_the_row_as_new_messages_store_them() {
        let mut conn = at_version(6);
        conn.execute_batch(
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0);
             INSERT INTO messages (id, account_id, key, stable_hash, internal_date, time, class, stored_at)
                 VALUES (7, 1, 'k@x', 'h', 0, 0, 'human', 0), (8, 1, 'l@x', 'h', 0, 0, 'human', 0);
             INSERT INTO message_addresses (message_id, field, address, name) VALUES
                 (7, 'from', 'c@x', 'C'),
                 (7, 'to', 'zoe@x', 'Zoe' || char(9) || 'Z\\' || char(10)),
                 (7, 'to', 'a\\b@x', ''),
                 (7, 'to', 'ann@x', ''),
                 (7, 'cc', 'bob@x', 'Bob'),
                 (7, 'reply_to', 'c@x', ''),
                 (8, 'from', 'c@x', 'C');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let address = |a: &str, n: &str| crate::mail::Address {
            address: a.to_owned(),
            name: (!n.is_empty()).then(|| n.to_owned()),
        };
        let expect = crate::store::recipients::encode(
            &[
                address("zoe@x", "Zoe\tZ\\\n"),
                address("ann@x", ""),
                address("a\\b@x", ""),
            ],
            &[address("bob@x", "Bob")],
            &[address("c@x", "")],
        );
        let stored: Vec<(i64, String)> = conn
            .prepare("SELECT id, recipients FROM messages ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(stored, vec![(7, expect), (8, String::new())]);
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'message_addresses%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 0, "the address table and its index are gone");
    }

    #[test]
    fn migration_8_writes_keys_in_their_digest_forms() {
        let mut conn = at_version(7);
        // Row 4's Message-ID is hostile: it equals the new form of row 2's key, which the
        // migration must not trip over.
        let hostile = crate::store::keys::of_stable_hash("h2");
        conn.execute(
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0)",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO messages (id, account_id, key, message_id, stable_hash, internal_date,
                 time, class, stored_at) VALUES
                 (1, 1, 'a@x', 'a@x', 'h1', 0, 0, 'human', 0),
                 (2, 1, 'hash:h2', NULL, 'h2', 0, 0, 'human', 0),
                 (3, 1, 'hash:h3', 'a@x', 'h3', 0, 0, 'human', 0),
                 (4, 1, ?1, ?1, 'h4', 0, 0, 'human', 0),
                 (5, 2, 'a@x', 'a@x', 'h1', 0, 0, 'human', 0)",
            [&hostile],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let keys = strings(&conn, "SELECT key FROM messages ORDER BY id");
        use crate::store::keys::{of_message_id, of_stable_hash};
        assert_eq!(
            keys,
            vec![
                of_message_id("a@x"),
                of_stable_hash("h2"),
                of_stable_hash("h3"),
                of_message_id(&hostile),
                of_message_id("a@x"),
            ]
        );
    }

    #[test]
    fn migration_9_rebuilds_messages_keeping_rows_locations_and_checks() {
        let mut conn = at_version(8);
        conn.execute_batch(
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0);
             INSERT INTO folders (id, account_id, name, role) VALUES (1, 1, 'INBOX', 'inbox');
             INSERT INTO messages (id, account_id, key, message_id, stable_hash, in_reply_to, refs,
                 from_addr, from_name, subject, date_header, internal_date, time, class, ooo_until,
                 bounce_kind, bounce_rcpts, candor_kind, candor_outbox, body_text, stored_at,
                 thread_id, extra_ids, recipients) VALUES
                 (7, 1, 'mk7', 'a@x', 'h7', 'p@x', 'q@x p@x', 'c@x', 'C', 'Hi', 100, 101, 102,
                     'bounce', NULL, 'hard', 'r@x', NULL, NULL, 'text', 103, 7, 'b@x',
                     'to' || char(9) || 'r@x' || char(9) || char(10)),
                 (8, 1, 'mk8', NULL, 'h8', '', '', '', '', '', NULL, 201, 202, 'auto_reply',
                     '2026-12-01', NULL, '', 'follow_up_1', 3, '', 203, 7, '', '');
             INSERT INTO locations (folder_id, uidvalidity, uid, message_id, present, seen_at, gone_at)
                 VALUES (1, 9, 3, 7, 1, 5, NULL), (1, 9, 4, 8, 0, 5, 6);",
        )
        .unwrap();
        let rows = |conn: &Connection| -> Vec<Vec<rusqlite::types::Value>> {
            let mut stmt = conn.prepare("SELECT * FROM messages ORDER BY id").unwrap();
            let columns = stmt.column_count();
            stmt.query_map([], |r| (0..columns).map(|i| r.get(i)).collect())
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        let before = rows(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(version(&conn).unwrap(), LATEST_VERSION);
        assert_eq!(
            rows(&conn),
            before,
            "every column of every row, in the same order"
        );
        let foreign_keys: bool = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert!(foreign_keys, "foreign keys are on again");
        let locations: i64 = conn
            .query_row("SELECT count(*) FROM locations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(locations, 2, "the rebuild deleted no location");
        let indexes = strings(
            &conn,
            "SELECT name FROM sqlite_schema WHERE tbl_name = 'messages' ORDER BY name",
        );
        assert_eq!(
            indexes,
            [
                "messages",
                "messages_by_thread",
                "messages_by_time",
                "sqlite_autoindex_messages_1"
            ]
        );
        // The checks still hold: every class, and nothing else.
        for (id, class) in crate::mail::Class::ALL.iter().enumerate() {
            conn.execute(
                "INSERT INTO messages (id, account_id, key, stable_hash, internal_date, time,
                     class, stored_at) VALUES (?1, 1, ?1, 'h', 0, 0, ?2, 0)",
                rusqlite::params![100 + id as i64, class.as_str()],
            )
            .unwrap();
        }
        let wrong = conn.execute(
            "INSERT INTO messages (id, account_id, key, stable_hash, internal_date, time, class,
                 stored_at) VALUES (200, 1, 'k200', 'h', 0, 0, 'spam', 0)",
            [],
        );
        assert!(wrong.is_err(), "an unknown class is refused");
        let wrong_kind = conn.execute(
            "INSERT INTO messages (id, account_id, key, stable_hash, internal_date, time, class,
                 bounce_kind, stored_at) VALUES (201, 1, 'k201', 'h', 0, 0, 'bounce', 'maybe', 0)",
            [],
        );
        assert!(wrong_kind.is_err(), "an unknown bounce kind is refused");
        let orphan = conn.execute(
            "INSERT INTO locations (folder_id, uidvalidity, uid, message_id, seen_at)
                 VALUES (1, 9, 5, 999, 0)",
            [],
        );
        assert!(orphan.is_err(), "locations still reference messages");
        // And deleting a message still takes its locations along.
        conn.execute("DELETE FROM messages WHERE id = 7", [])
            .unwrap();
        let left: i64 = conn
            .query_row("SELECT count(*) FROM locations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1);
    }

    #[test]
    fn refuses_a_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .unwrap();
        match migrate(&mut conn) {
            Err(MigrateError::TooNew { found }) => assert_eq!(found, LATEST_VERSION + 1),
            other => panic!("expected TooNew, got {other:?}"),
        }
    }

    #[test]
    fn tables_are_strict() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute(
            "INSERT INTO accounts (name, created_at) VALUES ('a', 0)",
            [],
        )
        .unwrap();
        let wrong_type = conn.execute(
            "INSERT INTO accounts (name, created_at) VALUES ('b', 'yesterday')",
            [],
        );
        assert!(
            wrong_type.is_err(),
            "a STRICT table rejects text in an INTEGER column"
        );
    }
}
