//! How a message's key (SPEC §2) is written in `messages.key`.
//!
//! The key is the Message-ID, else a hash of stable fields. The column holds a short digest of it
//! rather than the text itself: the unique index over `(account_id, key)` is the one index a
//! first sync inserts into at random places, and with whole Message-IDs (~70 bytes) it outgrew
//! the page cache (9 MB per 100k messages; about 2.5 MB with digests).
//!
//! A digest can collide, so it only finds a candidate row; the caller compares the message
//! itself. When the short form is taken by a different message, the message falls back to the
//! next form, as SPEC §2 already does for a Message-ID taken by a different message:
//! 1. `m` + digest of the Message-ID;
//! 2. `h` + digest of the stable hash;
//! 3. `hash:` + the whole stable hash, which only the same stable fields can take.
//!
//! No form starts with white space, which the migration relies on.

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rusqlite::{Transaction, params};
use sha2::{Digest as _, Sha256};

/// Bytes of SHA-256 kept: 96 bits, 16 characters of base64url.
const DIGEST_BYTES: usize = 12;

fn digest(kind: char, text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut key = String::with_capacity(1 + DIGEST_BYTES / 3 * 4);
    key.push(kind);
    URL_SAFE_NO_PAD.encode_string(&digest[..DIGEST_BYTES], &mut key);
    key
}

/// Form 1: the key of a message under its Message-ID.
pub fn of_message_id(message_id: &str) -> String {
    digest('m', message_id)
}

/// Form 2: the key of a message under its stable hash.
pub fn of_stable_hash(stable_hash: &str) -> String {
    digest('h', stable_hash)
}

/// Form 3: the stable hash written out, for the rare message whose short form is taken.
pub fn of_stable_hash_long(stable_hash: &str) -> String {
    format!("hash:{stable_hash}")
}

/// Migration 8: rewrites every stored key into the forms above, in the migration's transaction.
///
/// A stored key was the Message-ID when it equals the `message_id` column, else
/// `hash:<stable hash>`. Keys are first moved out of the way (`' ' || id` is unique and no key
/// starts with a space), since SQLite checks the unique index row by row.
pub fn migrate(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let rows = {
        let mut stmt =
            tx.prepare("SELECT id, account_id, key, message_id, stable_hash FROM messages")?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?
    };
    tx.execute("UPDATE messages SET key = ' ' || id", [])?;
    let mut taken: HashSet<(i64, String)> = HashSet::with_capacity(rows.len());
    let mut update = tx.prepare("UPDATE messages SET key = ?2 WHERE id = ?1")?;
    for (id, account, old, message_id, stable_hash) in rows {
        let by_id = (message_id.as_deref() == Some(old.as_str())).then(|| of_message_id(&old));
        let key = by_id
            .into_iter()
            .chain([of_stable_hash(&stable_hash)])
            .find(|key| !taken.contains(&(account, key.clone())))
            .unwrap_or_else(|| of_stable_hash_long(&stable_hash));
        update.execute(params![id, key])?;
        taken.insert((account, key));
    }
    Ok(())
}

/// The keys stored for an account, as 64-bit digests of their forms, loaded once per session:
/// a key that is not in the set is not stored, so a new message (every message of a first sync)
/// needs no lookup. The set can only err the safe way. A key stored since it was loaded by
/// anyone but the session would be caught by the unique index, which fails the open transaction
/// and ends the session, and the next session loads the set again; but only the account's own
/// sync stores messages, and one process at a time syncs a store (`DaemonLock`), while other
/// commands only delete. Keys deleted since (retention, `forget`) or inserted by a transaction
/// that rolled back only cost a lookup.
///
/// The set also holds the stable hashes of the messages stored under a hash form (forms 2 and
/// 3, the few without a usable Message-ID): a message whose Message-ID's key is free is then
/// known not to be stored under its hash without computing that form's digest.
#[derive(Debug)]
pub struct KnownKeys {
    /// `None`: nothing known, every key is looked up.
    digests: Option<HashSet<u64>>,
    /// 64 bits of the stable hash of every message stored under a hash form.
    hashed: HashSet<u64>,
}

impl KnownKeys {
    /// A set that knows nothing: every key may be stored.
    pub fn unknown() -> KnownKeys {
        KnownKeys {
            digests: None,
            hashed: HashSet::new(),
        }
    }

    /// Every key stored for `account` (the unique index alone is read), and the stable hashes
    /// of the rows under a hash form (both start with `h`, no Message-ID form does).
    pub fn load(tx: &Transaction<'_>, account: i64) -> rusqlite::Result<KnownKeys> {
        let mut stmt = tx.prepare("SELECT key FROM messages WHERE account_id = ?1")?;
        let mut rows = stmt.query([account])?;
        let mut digests = HashSet::new();
        while let Some(row) = rows.next()? {
            digests.insert(short(row.get_ref(0)?.as_str()?));
        }
        let mut stmt = tx.prepare(
            "SELECT stable_hash FROM messages WHERE account_id = ?1 AND key >= 'h' AND key < 'i'",
        )?;
        let mut rows = stmt.query([account])?;
        let mut hashed = HashSet::new();
        while let Some(row) = rows.next()? {
            hashed.insert(short(row.get_ref(0)?.as_str()?));
        }
        Ok(KnownKeys {
            digests: Some(digests),
            hashed,
        })
    }

    /// False only if no message is stored under `key`.
    pub fn may_be_stored(&self, key: &str) -> bool {
        self.digests
            .as_ref()
            .is_none_or(|digests| digests.contains(&short(key)))
    }

    /// False only if no message with this stable hash is stored under a hash form.
    pub fn may_be_stored_under_hash(&self, stable_hash: &str) -> bool {
        self.digests.is_none() || self.hashed.contains(&short(stable_hash))
    }

    /// Records a key just stored, for a message of the given stable hash.
    pub fn insert(&mut self, key: &str, stable_hash: &str) {
        if let Some(digests) = &mut self.digests {
            digests.insert(short(key));
            if is_hash_form(key) {
                self.hashed.insert(short(stable_hash));
            }
        }
    }
}

/// Whether `key` is form 2 or 3.
fn is_hash_form(key: &str) -> bool {
    key.starts_with('h')
}

/// 64 bits of a key form or a stable hash (FNV-1a): both are digests already.
fn short(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_say_no_only_for_keys_never_stored() {
        let store = crate::store::Store::open_in_memory().expect("in-memory store");
        store
            .call_blocking(|tx| {
                tx.execute(
                    "INSERT INTO accounts (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0)",
                    [],
                )?;
                tx.execute(
                    "INSERT INTO messages (account_id, key, stable_hash, internal_date, time,
                         class, stored_at)
                     VALUES (1, ?1, 'x', 0, 0, 'human', 0), (2, ?2, 'y', 0, 0, 'human', 0),
                            (1, ?3, 'w', 0, 0, 'human', 0), (1, ?4, 'v', 0, 0, 'human', 0)",
                    params![
                        of_message_id("a@x"),
                        of_message_id("b@x"),
                        of_stable_hash("w"),
                        of_stable_hash_long("v")
                    ],
                )?;
                let mut known = KnownKeys::load(tx, 1)?;
                assert!(known.may_be_stored_under_hash("w"));
                assert!(known.may_be_stored_under_hash("v"));
                assert!(
                    !known.may_be_stored_under_hash("x"),
                    "stored under its Message-ID"
                );
                assert!(known.may_be_stored(&of_message_id("a@x")));
                assert!(
                    !known.may_be_stored(&of_message_id("b@x")),
                    "another account's key"
                );
                assert!(!known.may_be_stored(&of_stable_hash("x")));
                assert!(!known.may_be_stored_under_hash("x"));
                known.insert(&of_stable_hash("x"), "x");
                assert!(known.may_be_stored(&of_stable_hash("x")));
                assert!(known.may_be_stored_under_hash("x"));
                known.insert(&of_message_id("c@x"), "z");
                assert!(!known.may_be_stored_under_hash("z"));
                let unknown = KnownKeys::unknown();
                assert!(unknown.may_be_stored(&of_message_id("anything@x")));
                assert!(unknown.may_be_stored_under_hash("anything"));
                Ok(())
            })
            .expect("known keys");
    }

    #[test]
    fn digests_are_short_stable_and_never_start_with_white_space() {
        let key = of_message_id("a@b");
        assert_eq!(key.len(), 17);
        assert!(key.starts_with('m'));
        assert_eq!(key, of_message_id("a@b"));
        assert_ne!(key, of_message_id("a@c"));
        // Pinned (base64url of the first 12 bytes of SHA-256): stored keys must never change.
        assert_eq!(of_message_id("a@b"), "mdQjYtQGOpkC4UmmG");
        assert!(of_stable_hash("00").starts_with('h'));
        assert!(of_stable_hash_long("00").starts_with("hash:"));
    }
}
