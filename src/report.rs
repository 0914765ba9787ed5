//! What candor tells its owner: figures (`candor stats`) and, later, the digest. Never changes
//! state.

pub mod activity;
pub mod candidates;
pub mod digest;
pub mod facts;
pub mod plan;
pub mod schedule;

use serde_json::{Value, json};

use crate::store::stats::AccountCounts;

/// `n` and the noun, in the singular for one: "1 email", "2 emails" (found in review: "1 new
/// messages", "1 candidates in jane", "0 follow-up(s) coming" in a digest's subject).
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A stored time (whole seconds) in RFC 3339, or empty if out of range.
pub fn time_text(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

/// When an outbox row was done, else when it is due (a queued row, at its next try once it met
/// a temporary error), else when it was due (a row being sent or of unknown outcome, never
/// resent). Found in review: an unknown row said "due", as if it would still go.
pub fn outbox_when(r: &crate::store::outbox::OutboxRow) -> String {
    match (r.done_at, r.state.as_str()) {
        (Some(done), _) => time_text(done),
        (None, "queued") => format!(
            "due {}",
            time_text(r.next_try_at.map_or(r.due, |t| t.max(r.due)))
        ),
        (None, _) => format!("was due {}", time_text(r.due)),
    }
}

/// Parses a window bound of `stats --since/--until`: RFC 3339, or a date (midnight UTC).
pub fn parse_bound(text: &str) -> Result<jiff::Timestamp, String> {
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    // Only a date as such: found in review, jiff's date parser read `2026-11-02T09:00:00` (no
    // offset, so no RFC 3339 time) as the whole day, and a window between two times of one
    // day as an empty one.
    match crate::config::values::parse_date(text) {
        Ok(date) => date
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| format!("{text}: {e}")),
        Err(_) => Err(format!(
            "{text:?} is neither an RFC 3339 time (2026-11-02T09:00:00Z) nor a date (2026-11-02)"
        )),
    }
}

fn rfc3339(seconds: Option<i64>) -> Value {
    seconds
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(|t| Value::String(t.to_string()))
        .unwrap_or(Value::Null)
}

/// The `stats --json` object of one account (SPEC §11; keys stay, extra keys welcome).
pub fn account_stats_json(counts: &AccountCounts) -> Value {
    json!({
        "name": counts.name,
        "messages": counts.messages,
        "folders": counts.folders,
        "classes": counts.classes,
        "skipped": counts.skipped,
        "last_sync": rfc3339(counts.last_sync),
        "first_sync": rfc3339(counts.first_sync),
        "last_error": if counts.last_error.is_empty() { Value::Null } else { Value::String(counts.last_error.clone()) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_singular_for_one_only() {
        assert_eq!(count(0, "email", "emails"), "0 emails");
        assert_eq!(count(1, "email", "emails"), "1 email");
        assert_eq!(count(2, "address", "addresses"), "2 addresses");
    }

    #[test]
    fn bounds_accept_rfc3339_and_dates() {
        assert_eq!(
            parse_bound("2026-11-02").unwrap(),
            "2026-11-02T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
        );
        assert_eq!(
            parse_bound("2026-11-02T09:30:00+01:00").unwrap(),
            "2026-11-02T08:30:00Z".parse::<jiff::Timestamp>().unwrap()
        );
        assert!(parse_bound("yesterday").is_err());
    }

    /// Found in review: without its offset a time was read as its whole day, so that
    /// `--since 2026-11-02T09:00:00 --until 2026-11-02T17:00:00` was an "empty window".
    #[test]
    fn a_time_without_offset_is_no_bound() {
        for text in [
            "2026-11-02T09:00:00",
            "2026-11-02T09:00",
            "2026-11-02 09:00:00",
        ] {
            let err = parse_bound(text).expect_err(text);
            assert!(err.contains("neither an RFC 3339 time"), "{text}: {err}");
        }
    }
}
