//! What the outbox asks of IMAP: APPEND a copy (to Sent or Drafts) and look for a Message-ID in a
//! folder (to reconcile after a crash and to never append twice).

use std::time::Duration;

use tokio::time::timeout;

use super::connect::{ImapError, Session};

const APPEND_TIMEOUT: Duration = Duration::from_secs(60);

/// APPENDs `raw` to `folder` with `flags` (e.g. `(\Seen)` or `(\Draft \Seen)`).
pub async fn append(
    session: &mut Session,
    folder: &str,
    flags: &str,
    raw: &[u8],
) -> Result<(), ImapError> {
    let command = format!("APPEND {folder}");
    timeout(
        APPEND_TIMEOUT,
        session.append(super::utf7::encode(folder), Some(flags), None, raw),
    )
    .await
    .map_err(|_| ImapError::timed_out(&command))?
    .map_err(|e| ImapError::from_imap(&command, e))
}

/// Whether `folder` holds a message with this Message-ID (without brackets). EXAMINE, so the
/// folder stays untouched.
pub async fn contains_message_id(
    session: &mut Session,
    folder: &str,
    message_id: &str,
) -> Result<bool, ImapError> {
    let command = format!("SEARCH {folder}");
    timeout(APPEND_TIMEOUT, session.examine(super::utf7::encode(folder)))
        .await
        .map_err(|_| ImapError::timed_out(&command))?
        .map_err(|e| ImapError::from_imap(&command, e))?;
    // The id is ours (hex and a domain), so it needs no escaping beyond the quotes.
    let query = format!(
        "HEADER Message-ID \"{}\"",
        message_id.replace(['"', '\\'], "")
    );
    let found = timeout(APPEND_TIMEOUT, session.uid_search(&query))
        .await
        .map_err(|_| ImapError::timed_out(&command))?
        .map_err(|e| ImapError::from_imap(&command, e))?;
    Ok(!found.is_empty())
}
