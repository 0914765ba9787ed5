//! Reply latency (SPEC §5): the waits of one conversation and their summary figures. Pure.
//!
//! Rules, as implemented by [`waits`]:
//! - Only human messages of the owner or the candidate count; others ([`Side::Other`], or
//!   `human == false`) neither open nor close a wait.
//! - A wait opens at the first message of a side's run that the other side has not answered; more
//!   messages from the same side (follow-ups) keep it open at the first one.
//! - The other side's next message closes it and opens the reverse wait. Its latency is close −
//!   open, except when the closing message answers (In-Reply-To) a later message of the run, such
//!   as the owner's own nudge: then it is measured from that message. Issue 5 fixes this: a reply's
//!   latency is the time since the message it answers when nothing human lies between them.
//! - Re-contact: a message more than 45 days after the open wait's first message drops that wait
//!   (it is not returned: no latency, and it is no longer open) and opens a new one. Measuring
//!   from the open, not from the last follow-up, keeps every reported latency within 45 days.
//! - At most one wait, the last, is left open (`closed_at == None`).

use jiff::Timestamp;

/// Longest wait that still counts as a latency: 45 days, in seconds.
pub const RECONTACT_AFTER_S: i64 = 45 * 86_400;

/// Who wrote a message, seen from the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Owner,
    Candidate,
    /// A colleague or anyone else.
    Other,
}

/// Who owes the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// The candidate wrote; the owner owes the answer.
    RecruiterReply,
    /// The owner wrote; the candidate owes the answer.
    CandidateReply,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::RecruiterReply => "recruiter_reply",
            Direction::CandidateReply => "candidate_reply",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The store's message key: breaks ties between equal times.
    pub key: i64,
    pub time: Timestamp,
    pub side: Side,
    pub human: bool,
    /// The key of the message this one answers (its In-Reply-To), when that message is in the
    /// conversation.
    pub answers: Option<i64>,
    /// Whether the message waits for an answer. A calendar client's acceptance of an invitation
    /// ("Accepted: Interview") answers and asks nothing: it closes the other side's wait and
    /// opens none (`threading::is_calendar_acceptance`).
    pub opens: bool,
}

/// One wait, closed or still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub direction: Direction,
    pub opened_at: Timestamp,
    pub opened_by: i64,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<i64>,
    /// `closed_at − opened_at` in whole seconds.
    pub latency_s: Option<i64>,
}

/// The waits of one conversation, in the order they opened. `events` may come in any order.
pub fn waits(events: &[Event]) -> Vec<Wait> {
    let mut ordered: Vec<&Event> = events
        .iter()
        .filter(|e| e.human && e.side != Side::Other)
        .collect();
    ordered.sort_by_key(|e| (e.time, e.key));
    let mut out = Vec::new();
    let mut open: Option<(Side, Wait)> = None;
    // The messages of the open run, for replies that answer one of its later messages.
    let mut run: Vec<(i64, Timestamp)> = Vec::new();
    for event in ordered {
        if let Some((side, wait)) = open.take() {
            let gap = event
                .time
                .as_second()
                .saturating_sub(wait.opened_at.as_second());
            if gap > RECONTACT_AFTER_S {
                // Re-contact: the old wait is dropped, this message opens a new one below.
            } else if side == event.side {
                open = Some((side, wait));
                if event.opens {
                    run.push((event.key, event.time));
                }
                continue;
            } else {
                let answered = event
                    .answers
                    .and_then(|key| run.iter().find(|(k, _)| *k == key))
                    .map(|(_, at)| *at)
                    .unwrap_or(wait.opened_at);
                out.push(Wait {
                    closed_at: Some(event.time),
                    closed_by: Some(event.key),
                    latency_s: Some(event.time.as_second().saturating_sub(answered.as_second())),
                    ..wait
                });
            }
        }
        run.clear();
        if event.opens {
            open = Some((event.side, open_wait(event)));
            run.push((event.key, event.time));
        }
    }
    out.extend(open.map(|(_, wait)| wait));
    out
}

fn open_wait(event: &Event) -> Wait {
    let direction = match event.side {
        Side::Candidate => Direction::RecruiterReply,
        Side::Owner | Side::Other => Direction::CandidateReply,
    };
    Wait {
        direction,
        opened_at: event.time,
        opened_by: event.key,
        closed_at: None,
        closed_by: None,
        latency_s: None,
    }
}

/// Figures over a set of latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub n: usize,
    /// The middle value; for an even count the mean of the two middle values, half rounded up.
    pub median_s: Option<i64>,
    /// Nearest rank: the smallest value with at least 90 % of the values at or below it.
    pub p90_s: Option<i64>,
}

pub fn summarize(latencies: &[i64]) -> Summary {
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    if n == 0 {
        return Summary {
            n,
            median_s: None,
            p90_s: None,
        };
    }
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        let sum = i128::from(sorted[n / 2 - 1]) + i128::from(sorted[n / 2]);
        // div_euclid rounds toward −∞, so +1 first rounds a half up (toward +∞).
        i64::try_from((sum + 1).div_euclid(2)).expect("mean of two i64 fits in i64")
    };
    // Nearest rank: ceil(0.9 n), 1-based.
    let rank = (9 * n).div_ceil(10).max(1);
    Summary {
        n,
        median_s: Some(median),
        p90_s: Some(sorted[rank - 1]),
    }
}

#[cfg(test)]
mod tests;
