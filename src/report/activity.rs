//! What happened within a window (SPEC §11 `activity`): the counts that `stats --json` prints and
//! the digest shows, computed in one place so that they always agree.

use jiff::Timestamp;
use serde::Serialize;

use super::facts::AccountFacts;
use crate::mail::Class;
use crate::policy::phrases::{self, OptOut};
use crate::store::outbox::OutboxRow;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    pub follow_ups_sent: u64,
    pub closures_sent: u64,
    pub drafted: u64,
    pub recorded: u64,
    pub bounces: u64,
    pub opt_outs: u64,
    pub unknown: u64,
    pub failed: u64,
}

/// When a row reached its state: `done_at` for final states, else its last update... which the
/// row list does not carry; `unknown` rows count at their creation.
fn row_time(row: &OutboxRow) -> i64 {
    row.done_at.unwrap_or(row.created_at)
}

/// Counts within `[since, until)`. Digests are not candidate mail and are not counted.
pub fn activity(
    facts: &AccountFacts,
    rows: &[OutboxRow],
    opt_out_phrases: &[String],
    since: Timestamp,
    until: Timestamp,
) -> Activity {
    let inside = |t: i64| t >= since.as_second() && t < until.as_second();
    let mut a = Activity::default();
    for row in rows
        .iter()
        .filter(|r| r.kind != "digest" && r.account == facts.name)
    {
        if !inside(row_time(row)) {
            continue;
        }
        match row.state.as_str() {
            "sent" if row.kind.starts_with("follow_up") => a.follow_ups_sent += 1,
            "sent" if row.kind.starts_with("closure") => a.closures_sent += 1,
            "drafted" => a.drafted += 1,
            "recorded" => a.recorded += 1,
            "unknown" => a.unknown += 1,
            "failed" => a.failed += 1,
            _ => {}
        }
    }
    let in_window = |t: Timestamp| t >= since && t < until;
    a.bounces = facts
        .messages
        .iter()
        .filter(|m| m.class == Class::Bounce && in_window(m.time))
        .count() as u64;
    // A candidate who asked clearly to stop, within the window (once per candidate).
    a.opt_outs = facts
        .conversations
        .iter()
        .filter(|c| {
            c.messages.iter().map(|&i| &facts.messages[i]).any(|m| {
                m.class == Class::Human
                    && c.addresses.contains(&m.from)
                    && in_window(m.time)
                    && phrases::opt_out(&m.body, opt_out_phrases) == OptOut::Clear
            })
        })
        .count() as u64;
    a
}
