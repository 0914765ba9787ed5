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

#[cfg(test)]
mod tests {
    use super::*;

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
