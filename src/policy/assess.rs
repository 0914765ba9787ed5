//! The state of one conversation and its next email before the gates (SPEC §6); shared by
//! [`decide`](super::decide) and [`gates`](super::gates) so both read the facts the same way.

use jiff::{SignedDuration, Timestamp};

use super::phrases::{self, OptOut};
use super::{
    FOLLOW_UP_SPACING_DAYS, FactMessage, Facts, Kind, OOO_DEFAULT_DAYS, OOO_HOLD_AFTER_DAYS,
    OutboxState, Outcome, Planned, PolicyConfig, State,
};
use crate::calendar::BusinessCalendar;
use crate::latency::{self, Direction, Event, Side};
use crate::mail::Class;

/// What [`assess`] found.
#[derive(Debug, Clone)]
pub(super) struct Assessment {
    pub state: State,
    pub waiting_since: Option<Timestamp>,
    pub overdue: bool,
    pub closure: Option<Kind>,
    pub planned: Option<Planned>,
    /// Instants at which the assessment changes by itself.
    pub deadlines: Vec<Timestamp>,
    pub notes: Vec<String>,
    /// A decided closure neither sent nor cancelled: its kind and the decision's time.
    pub pending_decision: Option<(Kind, Timestamp)>,
    /// The open wait on the candidate: when it opened.
    pub candidate_wait_opened: Option<Timestamp>,
}

/// The conversation's messages in time order (key breaks ties).
pub(super) fn sorted_messages(facts: &Facts) -> Vec<&FactMessage> {
    let mut messages: Vec<&FactMessage> = facts.messages.iter().collect();
    messages.sort_by_key(|m| (m.time, m.key));
    messages
}

pub(super) fn is_human(m: &FactMessage) -> bool {
    m.class == Class::Human
}

/// A `candidate resume` after `t` lifts what happened at `t`.
pub(super) fn lifted(facts: &Facts, t: Timestamp) -> bool {
    facts.owner.resumed_at.is_some_and(|resumed| resumed > t)
}

/// The owner's latest action about this candidate.
enum OwnerAction {
    Decided(Outcome, Timestamp),
    Paused(Timestamp),
    HoldFolder(Timestamp),
    Resumed,
    Nothing,
}

fn latest_owner_action(facts: &Facts) -> OwnerAction {
    let owner = &facts.owner;
    let decision = match (owner.decided, owner.outcome_folder) {
        (Some(a), Some(b)) => Some(if b.1 > a.1 { b } else { a }),
        (a, b) => a.or(b),
    };
    let paused = owner.paused_indefinitely || owner.paused_until.is_some();
    // Ties go to the most cautious action: hold, then pause, then decision, then resume.
    let mut candidates: Vec<(Timestamp, u8, OwnerAction)> = Vec::new();
    if let Some(t) = owner.resumed_at {
        candidates.push((t, 0, OwnerAction::Resumed));
    }
    if let Some((outcome, t)) = decision {
        candidates.push((t, 1, OwnerAction::Decided(outcome, t)));
    }
    if paused {
        // A pause without a recorded time is older than anything else.
        let t = owner.paused_at.unwrap_or(Timestamp::MIN);
        candidates.push((t, 2, OwnerAction::Paused(t)));
    }
    if let Some(t) = owner.hold_folder_at {
        candidates.push((t, 3, OwnerAction::HoldFolder(t)));
    }
    candidates
        .into_iter()
        .max_by_key(|(t, rank, _)| (*t, *rank))
        .map_or(OwnerAction::Nothing, |(_, _, action)| action)
}

/// Business-day counts from the config are capped here: ten years of business days is "never"
/// in practice, and the calendar walks day by day (an unchecked `u32::MAX` would take minutes).
pub(super) const MAX_BUSINESS_DAYS: u32 = 2600;

pub(super) fn business_days(days: u32) -> u32 {
    days.min(MAX_BUSINESS_DAYS)
}

fn plus_seconds(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds))
        .unwrap_or(Timestamp::MAX)
}

pub(super) fn assess(
    facts: &Facts,
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    now: Timestamp,
) -> Assessment {
    let messages = sorted_messages(facts);
    let events: Vec<Event> = messages
        .iter()
        .map(|m| Event {
            key: m.key,
            time: m.time,
            side: m.side,
            human: is_human(m),
            // The policy needs only who waits since when, not the latency of closed waits.
            answers: None,
            opens: !crate::threading::is_calendar_acceptance(&m.subject),
        })
        .collect();
    let open = latency::waits(&events)
        .into_iter()
        .last()
        .filter(|w| w.closed_at.is_none());
    let mut a = Assessment {
        state: State::AwaitingCandidate,
        waiting_since: open.map(|w| w.opened_at),
        overdue: false,
        closure: None,
        planned: None,
        deadlines: Vec::new(),
        notes: Vec::new(),
        pending_decision: None,
        candidate_wait_opened: None,
    };

    // Recruiter accountability (SPEC §6) holds whatever else the conversation is: a pause or a
    // hold stops candor's mail, not the owner's debt (found in review: a paused candidate who
    // had asked a question vanished from the digest's "awaiting your reply").
    if let Some(wait) = open.filter(|w| w.direction == Direction::RecruiterReply) {
        let sla = cal.add_business_days(wait.opened_at, business_days(config.recruiter_sla_days));
        // Second precision: reaching the limit is already more than the allowed days.
        a.overdue = now >= sla;
        if !a.overdue {
            a.deadlines.push(sla);
        }
    }

    if final_states(facts, config, &messages, &mut a) {
        return a;
    }
    if owner_actions(facts, config, cal, now, &messages, &mut a) {
        return a;
    }

    let latest_candidate = messages
        .iter()
        .rev()
        .find(|m| is_human(m) && m.side == Side::Candidate);
    if let Some(m) = latest_candidate
        && phrases::opt_out(&m.new_text, &config.opt_out_phrases) == OptOut::Ambiguous
        && !lifted(facts, m.time)
    {
        a.state = State::Held;
        a.notes.push("ambiguous opt-out: held".to_string());
        return a;
    }

    if closed_by_sent_closure(facts, &messages, &mut a) {
        return a;
    }

    match open {
        // Human messages and no open wait: the last answer asked nothing (an accepted
        // invitation), and no follow-up is due until someone writes again.
        None if messages
            .iter()
            .any(|m| is_human(m) && m.side != Side::Other) =>
        {
            a.notes
                .push("answered, nothing asked back (an accepted invitation)".to_string())
        }
        None => a.notes.push("no human message yet".to_string()),
        Some(wait) if wait.direction == Direction::RecruiterReply => {
            a.state = State::AwaitingRecruiter;
        }
        Some(wait) => {
            a.candidate_wait_opened = Some(wait.opened_at);
            awaiting_candidate(facts, config, cal, now, &messages, wait.opened_by, &mut a);
        }
    }
    a
}

/// The owner's latest action (decision, pause, hold folder); true when it settles the state.
fn owner_actions(
    facts: &Facts,
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    now: Timestamp,
    messages: &[&FactMessage],
    a: &mut Assessment,
) -> bool {
    match latest_owner_action(facts) {
        OwnerAction::Decided(outcome, t) => {
            // Any row (a cancelled one too) or a closure seen in Sent answers the decision.
            let consumed = facts
                .automated
                .iter()
                .any(|r| r.kind.is_closure() && r.created_at >= t)
                || messages.iter().any(|m| {
                    m.class == Class::Own && m.time >= t && m.own_kind.is_some_and(Kind::is_closure)
                });
            if !consumed {
                decided_closure(config, cal, messages, outcome, t, a);
                return true;
            }
        }
        OwnerAction::Paused(t) => {
            let owner = &facts.owner;
            // `--until DATE`: paused until work starts on DATE (or the next business day).
            let end = match owner.paused_until {
                _ if owner.paused_indefinitely => None,
                Some(date) => Some(match date.yesterday() {
                    Ok(eve) => cal.next_business_day_start(eve),
                    Err(_) => Timestamp::MIN,
                }),
                None => None,
            };
            if end.is_none_or(|end| now < end) {
                a.state = State::Paused;
                a.deadlines.extend(end);
                a.notes.push(match end {
                    Some(end) => format!("paused by the owner until {end}"),
                    None => format!("paused by the owner since {t}"),
                });
                return true;
            }
        }
        OwnerAction::HoldFolder(t) => {
            a.state = State::Held;
            a.notes
                .push(format!("held: moved to the hold folder at {t}"));
            return true;
        }
        OwnerAction::Resumed | OwnerAction::Nothing => {}
    }
    false
}

/// Opt-out, hard bounce and an `unknown` send: each wins over everything until a resume.
fn final_states(
    facts: &Facts,
    config: &PolicyConfig,
    messages: &[&FactMessage],
    a: &mut Assessment,
) -> bool {
    let opted_out = messages.iter().rev().find(|m| {
        is_human(m)
            && m.side == Side::Candidate
            && phrases::opt_out(&m.new_text, &config.opt_out_phrases) == OptOut::Clear
    });
    if let Some(m) = opted_out.filter(|m| !lifted(facts, m.time)) {
        a.state = State::OptedOut;
        a.notes.push(format!("opted out at {}", m.time));
        return true;
    }
    let bounce = messages
        .iter()
        .rev()
        .find(|m| m.class == Class::Bounce && m.hard_bounce);
    if let Some(m) = bounce.filter(|m| !lifted(facts, m.time)) {
        a.state = State::Bounced;
        a.notes.push(format!("hard bounce at {}", m.time));
        return true;
    }
    let unknown = facts
        .automated
        .iter()
        .find(|r| r.state == OutboxState::Unknown && !lifted(facts, r.created_at));
    if let Some(row) = unknown {
        a.state = State::Held;
        a.notes.push(format!(
            "held: the delivery of {} created at {} is unknown",
            row.kind.as_str(),
            row.created_at
        ));
        return true;
    }
    // A send refused for good (5xx, or given up after retries) needs the owner as much as an
    // unknown one: the next email would be refused too, or be the first the candidate sees.
    // The candidate writing since proves the address works, and lifts it like a resume.
    let failed = facts.automated.iter().find(|r| {
        r.state == OutboxState::Failed
            && !lifted(facts, r.created_at)
            && !messages
                .iter()
                .any(|m| is_human(m) && m.side == Side::Candidate && m.time > r.created_at)
    });
    if let Some(row) = failed {
        a.state = State::Held;
        a.notes.push(format!(
            "held: {} created at {} failed for good; `candor candidate resume` once fixed",
            row.kind.as_str(),
            row.created_at
        ));
        return true;
    }
    false
}

/// The owner decided an outcome that no closure has answered yet.
fn decided_closure(
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    messages: &[&FactMessage],
    outcome: Outcome,
    decided_at: Timestamp,
    a: &mut Assessment,
) {
    let kind = outcome.closure_kind();
    a.state = State::Closed;
    a.closure = Some(kind);
    a.pending_decision = Some((kind, decided_at));
    // The latest human message the candidate was party to: theirs, or the owner's to them. Not
    // another participant's of a shared thread (found by the synthetic mailbox's plan test: a
    // hiring manager's "Accepted:" to the owner, the owner's note to herself, another
    // candidate's mail joined by a reused Message-ID): the closure would answer, quote the
    // subject of and reference a message the candidate never got.
    let Some(latest) = messages
        .iter()
        .rev()
        .find(|m| is_human(m) && m.side != Side::Other)
    else {
        a.notes
            .push("decided closure: no human message to answer".to_string());
        return;
    };
    let window_end = plus_seconds(decided_at, i64::from(config.cancel_window_hours) * 3600);
    a.planned = Some(Planned {
        kind,
        due: cal.next_window_start(window_end, config.send_start_minute, config.send_end_minute),
        reply_to: latest.key,
        reason: format!("the owner decided {} at {decided_at}", outcome.as_str()),
    });
}

/// A closure went (or is going) out and nobody has written since: closed.
fn closed_by_sent_closure(facts: &Facts, messages: &[&FactMessage], a: &mut Assessment) -> bool {
    let rows = facts
        .automated
        .iter()
        .filter(|r| r.kind.is_closure() && r.state.is_taken())
        .map(|r| (r.created_at, r.kind));
    let own = messages
        .iter()
        .filter(|m| m.class == Class::Own)
        .filter_map(|m| m.own_kind.filter(|k| k.is_closure()).map(|k| (m.time, k)));
    let Some((at, kind)) = rows.chain(own).max_by_key(|(t, _)| *t) else {
        return false;
    };
    if messages.iter().any(|m| is_human(m) && m.time > at) {
        return false;
    }
    a.state = State::Closed;
    a.closure = Some(kind);
    true
}

/// Follow-ups of the wait opened at `opened_at`: how many, and when the last one went.
///
/// `count_state` selects the rows that count. Own messages (`X-Candor` seen in the mailbox) count
/// too, as a floor: the store may hold rows for them or not (another installation sent them).
/// A `drafted` row went out when the owner next wrote (SPEC §7.6), else at its creation.
pub(super) fn follow_ups(
    facts: &Facts,
    messages: &[&FactMessage],
    opened_at: Timestamp,
    count_state: impl Fn(OutboxState) -> bool,
) -> (u32, Option<Timestamp>) {
    let mut rows = 0u32;
    let mut last: Option<Timestamp> = None;
    for row in facts
        .automated
        .iter()
        .filter(|r| r.kind.is_follow_up() && r.created_at >= opened_at && count_state(r.state))
        .filter(|r| !discarded_draft(facts, messages, r))
    {
        rows += 1;
        let went = if row.state == OutboxState::Drafted {
            owner_wrote_after(messages, row.created_at).unwrap_or(row.created_at)
        } else {
            row.time()
        };
        last = last.max(Some(went));
    }
    let mut own = 0u32;
    for m in messages.iter().filter(|m| {
        m.class == Class::Own && m.time >= opened_at && m.own_kind.is_some_and(Kind::is_follow_up)
    }) {
        own += 1;
        last = last.max(Some(m.time));
    }
    (rows.max(own), last)
}

/// A draft the owner never sent and moved on from with `candor candidate resume`: no copy of
/// it in Sent, no mail of the owner's after it. It never reached the candidate, so it takes no
/// follow-up's place (found in review: the next email said "following up once more").
fn discarded_draft(facts: &Facts, messages: &[&FactMessage], row: &super::SentRecord) -> bool {
    row.state == OutboxState::Drafted
        && lifted(facts, row.created_at)
        && owner_wrote_after(messages, row.created_at).is_none()
        && !messages.iter().any(|m| {
            m.class == Class::Own && m.time >= row.created_at && m.own_kind == Some(row.kind)
        })
}

/// The owner's first human message after `t`.
pub(super) fn owner_wrote_after(messages: &[&FactMessage], t: Timestamp) -> Option<Timestamp> {
    messages
        .iter()
        .find(|m| is_human(m) && m.side == Side::Owner && m.time > t)
        .map(|m| m.time)
}

fn awaiting_candidate(
    facts: &Facts,
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    now: Timestamp,
    messages: &[&FactMessage],
    opener_key: i64,
    a: &mut Assessment,
) {
    let Some(opener) = messages.iter().find(|m| m.key == opener_key) else {
        return;
    };
    let opened_at = opener.time;
    let Some(latest_owner) = messages
        .iter()
        .rev()
        .find(|m| is_human(m) && m.side == Side::Owner && m.time >= opened_at)
    else {
        return;
    };

    let Some(pause_end) = out_of_office(facts, cal, now, messages, opened_at, a) else {
        return;
    };

    let horizon_ok = config.act_on_existing || facts.first_sync_at.is_some_and(|s| opened_at >= s);
    if !horizon_ok {
        a.notes
            .push("the wait opened before the first sync: no automated email".to_string());
        return;
    }
    if phrases::reads_as_closing(&latest_owner.new_text, &config.closing_phrases) {
        a.notes
            .push("the owner's latest message reads as a closing".to_string());
        return;
    }
    // Someone the owner only copied is not asked for an answer (found in review: a referrer in
    // Cc, a candidate's colleague, would have been followed up as if written to).
    if messages
        .iter()
        .filter(|m| is_human(m) && m.side == Side::Owner && m.time >= opened_at)
        .all(|m| m.cc_only)
    {
        a.notes.push(
            "the candidate was only copied on the owner's message: no automated email".to_string(),
        );
        return;
    }
    let first_contact = !messages
        .iter()
        .any(|m| is_human(m) && m.side != Side::Other && (m.time, m.key) < (opened_at, opener.key));
    if !first_contact && !phrases::asks_something(&opener.new_text) {
        a.notes
            .push("the owner's message expects no answer".to_string());
        return;
    }

    if let Some(planned) = next_email(facts, config, cal, messages, latest_owner, opened_at, a) {
        let due = cal.next_window_start(
            planned.due.max(pause_end),
            config.send_start_minute,
            config.send_end_minute,
        );
        a.planned = Some(Planned { due, ..planned });
    }
}

/// The latest out-of-office reply of the candidate since the wait opened: when its pause ends
/// (`Timestamp::MIN` without one), or `None` when it holds the conversation.
fn out_of_office(
    facts: &Facts,
    cal: &BusinessCalendar,
    now: Timestamp,
    messages: &[&FactMessage],
    opened_at: Timestamp,
    a: &mut Assessment,
) -> Option<Timestamp> {
    let ooo = messages
        .iter()
        .rev()
        .find(|m| m.class == Class::AutoReply && m.side == Side::Candidate && m.time >= opened_at);
    let Some(reply) = ooo.filter(|m| !lifted(facts, m.time)) else {
        return Some(Timestamp::MIN);
    };
    let sent_on = cal.tz.to_datetime(reply.time).date();
    let limit = sent_on.checked_add(SignedDuration::from_hours(24 * OOO_HOLD_AFTER_DAYS));
    let pause_end = match reply.ooo_until {
        Some(until) if limit.is_ok_and(|limit| until > limit) => {
            a.state = State::Held;
            a.notes.push(format!(
                "held: out of office until {until}, over 30 days away"
            ));
            return None;
        }
        Some(until) => cal.next_business_day_start(until),
        None => plus_seconds(reply.time, OOO_DEFAULT_DAYS * 86_400),
    };
    if now < pause_end {
        a.state = State::Paused;
        a.deadlines.push(pause_end);
        a.notes
            .push(format!("out of office: paused until {pause_end}"));
    }
    Some(pause_end)
}

/// The next email of a wait on the candidate, due before the pause and the send window apply.
fn next_email(
    facts: &Facts,
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    messages: &[&FactMessage],
    latest_owner: &FactMessage,
    opened_at: Timestamp,
    a: &mut Assessment,
) -> Option<Planned> {
    // Every row of the wait takes its slot (a cancelled or failed one is not planned again).
    let (taken, last_follow_up) = follow_ups(facts, messages, opened_at, |_| true);
    // A follow-up that never went out (cancelled, or refused for good) ends this wait's
    // follow-ups: the next one would say "once more" to someone who never got the first. The
    // owner writing after it goes on as before.
    let dropped = facts
        .automated
        .iter()
        .filter(|r| r.kind.is_follow_up() && r.created_at >= opened_at)
        .max_by_key(|r| r.created_at)
        .filter(|r| matches!(r.state, OutboxState::Cancelled | OutboxState::Failed));
    if let Some(row) = dropped
        && owner_wrote_after(messages, row.created_at).is_none()
    {
        a.notes.push(format!(
            "{} was {}: no further follow-up in this wait",
            row.kind.as_str(),
            row.state.as_str()
        ));
        return None;
    }
    let anchor = last_follow_up.map_or(latest_owner.time, |t| t.max(latest_owner.time));
    let cap = config.max_follow_ups.min(2);
    let replied_before = messages
        .iter()
        .any(|m| is_human(m) && m.side == Side::Candidate && m.time < opened_at);
    let (kind, raw_due, reason) = if taken < cap {
        let kind = if taken == 0 {
            Kind::FollowUp1
        } else {
            Kind::FollowUp2
        };
        let mut due = cal.add_business_days(anchor, business_days(config.follow_up_after_days));
        // The reason names what the due time counts from (found in review: a second follow-up
        // due five days after the first said "after the owner's message of" a date two weeks
        // before it, which did not add up for the owner reading `candor plan`).
        let mut reason = if anchor > latest_owner.time {
            format!(
                "no answer {} business days after the follow-up of {anchor}",
                config.follow_up_after_days
            )
        } else {
            format!(
                "no answer {} business days after the owner's message of {}",
                config.follow_up_after_days, latest_owner.time
            )
        };
        if let Some(last) = last_follow_up {
            let spaced = cal.add_business_days(last, FOLLOW_UP_SPACING_DAYS);
            if spaced > due {
                due = spaced;
                reason = format!(
                    "no answer {FOLLOW_UP_SPACING_DAYS} business days after the follow-up of {last} (follow-ups stay {FOLLOW_UP_SPACING_DAYS} business days apart)"
                );
            }
        }
        (kind, due, reason)
    } else if facts
        .automated
        .iter()
        .any(|r| r.kind == Kind::ClosureSilence && r.created_at >= opened_at)
    {
        // One closure per wait: a failed or cancelled one is not planned again either.
        a.notes
            .push("this wait already had its closure after silence".to_string());
        return None;
    } else if taken >= 1 && replied_before {
        let due = cal.add_business_days(anchor, business_days(config.closure_after_days));
        let reason = format!(
            "silent {} business days after the last follow-up",
            config.closure_after_days
        );
        (Kind::ClosureSilence, due, reason)
    } else {
        a.notes.push(if taken >= 1 {
            "follow-ups done; no closure for a candidate who never replied".to_string()
        } else {
            "follow-ups are off (max_follow_ups = 0)".to_string()
        });
        return None;
    };
    Some(Planned {
        kind,
        due: raw_due,
        reply_to: latest_owner.key,
        reason,
    })
}
