//! `candor candidates`, `candor candidate show` and the latency part of `candor stats`.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::facts::AccountFacts;
use crate::conversations::{self, Conversation};
use crate::latency::{Direction, Wait};

/// The default latency window: the last 90 days (SPEC §5).
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

pub fn default_since(now: Timestamp) -> Timestamp {
    now - jiff::SignedDuration::from_hours(24 * DEFAULT_WINDOW_DAYS)
}

/// Who owes the next answer, from the conversation's open wait.
fn waiting(conversation: &Conversation) -> (&'static str, Option<&'static str>, Option<Timestamp>) {
    match conversation.open_wait() {
        Some(w) if w.direction == Direction::CandidateReply => {
            ("awaiting_candidate", Some("candidate"), Some(w.opened_at))
        }
        Some(w) => ("awaiting_recruiter", Some("recruiter"), Some(w.opened_at)),
        None => ("idle", None, None),
    }
}

fn median(
    waits: &[Wait],
    direction: Direction,
    facts: &AccountFacts,
    since: Timestamp,
    until: Timestamp,
) -> Option<i64> {
    conversations::figures(waits, direction, &facts.calendar, since, until).median_s
}

/// `candidates --json` rows of one account (SPEC §11).
/// `states` is the policy's state of each conversation (SPEC §6), parallel to
/// `facts.conversations`.
pub fn candidates_json(
    facts: &AccountFacts,
    states: &[&str],
    since: Timestamp,
    until: Timestamp,
) -> Vec<Value> {
    facts
        .conversations
        .iter()
        .zip(&facts.in_scope)
        .zip(states)
        .map(|((c, in_scope), state)| {
            let (_, waiting_on, since_at) = waiting(c);
            json!({
                "account": facts.name,
                "address": c.address,
                "addresses": c.addresses,
                "name": c.name,
                "state": state,
                "waiting_on": waiting_on,
                "since": since_at.map(|t| t.to_string()),
                "candidate_median_s": median(&c.waits, Direction::CandidateReply, facts, since, until),
                "recruiter_median_s": median(&c.waits, Direction::RecruiterReply, facts, since, until),
                "in_scope": in_scope,
                "replied": c.replied,
                "messages": c.messages.len(),
            })
        })
        .collect()
}

/// A duration as people read it: "3d 4h", "5h 10m", "42m", "—" for none.
pub fn human_duration(seconds: Option<i64>) -> String {
    let Some(s) = seconds else {
        return "—".to_owned();
    };
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3600, (s % 3600) / 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else {
        format!("{m}m")
    }
}

/// The `candidates` table: one line per candidate, who waits on whom first.
pub fn candidates_text(
    facts: &AccountFacts,
    states: &[&str],
    now: Timestamp,
    since: Timestamp,
    until: Timestamp,
) -> String {
    let mut rows: Vec<(&Conversation, bool, &str)> = facts
        .conversations
        .iter()
        .zip(facts.in_scope.iter().copied())
        .zip(states.iter().copied())
        .map(|((c, scope), state)| (c, scope, state))
        .collect();
    // Waiting on you first, then on them, oldest wait first.
    rows.sort_by_key(|(c, _, _)| {
        let (state, _, at) = waiting(c);
        (
            state != "awaiting_recruiter",
            at.map(|t| t.as_second()).unwrap_or(i64::MAX),
        )
    });
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24} {:<34} {:<19} {:<17} {:>8} {:>12} {:>12}  SCOPE",
        "NAME", "ADDRESS", "STATE", "WAITING", "FOR", "THEIR MEDIAN", "YOUR MEDIAN"
    );
    for (c, in_scope, state) in rows {
        let (_, waiting_on, at) = waiting(c);
        let who = match waiting_on {
            Some("recruiter") => "on you",
            Some(_) => "on the candidate",
            None => "nobody",
        };
        let age = at.map(|t| now.as_second() - t.as_second());
        let _ = writeln!(
            out,
            "{:<24} {:<34} {:<19} {:<17} {:>8} {:>12} {:>12}  {}",
            truncate(if c.name.is_empty() { "-" } else { &c.name }, 24),
            truncate(&c.address, 34),
            state,
            who,
            human_duration(age),
            human_duration(median(
                &c.waits,
                Direction::CandidateReply,
                facts,
                since,
                until
            )),
            human_duration(median(
                &c.waits,
                Direction::RecruiterReply,
                facts,
                since,
                until
            )),
            if in_scope { "in scope" } else { "tracked only" },
        );
    }
    out.push_str(&count_line(facts.conversations.len(), &facts.name));
    out
}

/// The table's last line (found in review: "1 candidates in jane").
fn count_line(candidates: usize, account: &str) -> String {
    format!(
        "{} in {account}",
        super::count(candidates, "candidate", "candidates")
    )
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// `candidate show`: the conversation as a timeline.
pub fn timeline_text(facts: &AccountFacts, index: usize, now: Timestamp) -> String {
    let c = &facts.conversations[index];
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} <{}>{} — {}",
        if c.name.is_empty() {
            "(no name)"
        } else {
            &c.name
        },
        c.address,
        if c.addresses.len() > 1 {
            format!(" (also {})", c.addresses[1..].join(", "))
        } else {
            String::new()
        },
        if facts.in_scope[index] {
            "in scope"
        } else {
            "tracked only, never written to automatically"
        },
    );
    for &i in &c.messages {
        let m = &facts.messages[i];
        let who = if c.addresses.contains(&m.from) {
            "candidate"
        } else if facts.identity.is_owner(&m.from) {
            "you"
        } else {
            "other"
        };
        let mut note = String::new();
        for w in &c.waits {
            if w.opened_by == m.key {
                let _ = write!(
                    note,
                    "  opens a wait for {}",
                    if w.direction == Direction::CandidateReply {
                        "the candidate"
                    } else {
                        "you"
                    }
                );
            }
            if w.closed_by == Some(m.key) {
                let _ = write!(note, "  answers after {}", human_duration(w.latency_s));
            }
        }
        // Said to be UTC (SPEC §2): unmarked, 18:45 read as the owner's local time, and the
        // digest gave the same message as 19:45 (found in review).
        let _ = writeln!(
            out,
            "{}  {:<9} {:<10} thread {:<6} {}{}",
            m.time.strftime("%Y-%m-%d %H:%M UTC"),
            who,
            m.class.as_str(),
            m.thread,
            truncate(&m.subject, 50),
            note
        );
    }
    if let Some(w) = c.open_wait() {
        let _ = write!(
            out,
            "waiting on {} for {}",
            if w.direction == Direction::CandidateReply {
                "the candidate"
            } else {
                "you"
            },
            human_duration(Some(now.as_second() - w.opened_at.as_second()))
        );
    } else {
        let _ = write!(out, "nobody is waiting");
    }
    out
}

/// The `latency` object of `stats --json` (issue 5): both directions and the open waits.
pub fn latency_json(
    facts: &AccountFacts,
    now: Timestamp,
    since: Timestamp,
    until: Timestamp,
) -> Value {
    let all_waits = || facts.conversations.iter().flat_map(|c| c.waits.iter());
    let figures = |direction| {
        let f = conversations::figures(all_waits(), direction, &facts.calendar, since, until);
        json!({
            "median_s": f.median_s,
            "p90_s": f.p90_s,
            "n": f.n,
            "business_median_s": f.business_median_s,
            "business_p90_s": f.business_p90_s,
        })
    };
    let mut open: Vec<(Timestamp, Value)> = facts
        .conversations
        .iter()
        .filter_map(|c| c.open_wait().map(|w| (c, w)))
        .map(|(c, w)| {
            (
                w.opened_at,
                json!({
                    "candidate": c.address,
                    "direction": w.direction.as_str(),
                    "since": w.opened_at.to_string(),
                    "age_s": now.as_second() - w.opened_at.as_second(),
                }),
            )
        })
        .collect();
    open.sort_by_key(|(at, _)| *at);
    json!({
        "recruiter_reply": figures(Direction::RecruiterReply),
        "candidate_reply": figures(Direction::CandidateReply),
        "open_waits": open.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::count_line;

    #[test]
    fn one_candidate_is_counted_in_the_singular() {
        assert_eq!(count_line(1, "jane"), "1 candidate in jane");
        assert_eq!(count_line(0, "jane"), "0 candidates in jane");
        assert_eq!(count_line(12, "jane"), "12 candidates in jane");
    }
}
