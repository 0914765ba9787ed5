//! The safety gates of SPEC §7, checked in order right before an automated email goes out.
//!
//! 1. `scope`, then `state`: a candidate in scope, not excluded/internal/role/null; not bounced,
//!    opted out, paused, held or closed (a decided closure needs its decision still pending).
//! 2. `replied` (follow-ups and the closure after silence): nothing human from anyone since the
//!    message being followed up, and the owner has not written again.
//! 3. `list` (same kinds): that message is the owner's own human message, not in a list thread.
//! 4. `spacing`: per conversation at most `max_follow_ups`, 5 business days apart, one closure;
//!    per recipient no two automated emails within 3 calendar days.
//! 5. `window`: due, inside `send_hours` on a business day, and for a decided closure past its
//!    cancel window and listed by a digest; then `cap`: the account's `daily_cap`, its emails
//!    spaced 30 to 90 s apart (auto mode: drafts and records go nowhere).
//! 6. `mode`: every mode passes (see [`Mode`](super::Mode) for what the caller then does), but
//!    no new email while a draft of this conversation waits unsent in Drafts.

use jiff::civil::Time;
use jiff::{SignedDuration, Timestamp};

use super::assess::{self, Assessment, is_human, lifted, owner_wrote_after, sorted_messages};
use super::{
    FOLLOW_UP_SPACING_DAYS, FactMessage, Facts, Gate, HeldBack, Kind, Mode, OutboxState, Planned,
    PolicyConfig, RECIPIENT_SPACING_S, State,
};
use crate::calendar::BusinessCalendar;
use crate::latency::Side;

/// Checks the gates of SPEC §7 in order for `planned` at `now`; the first that fails says why.
pub fn gates(
    facts: &Facts,
    config: &PolicyConfig,
    calendar: &BusinessCalendar,
    planned: &Planned,
    now: Timestamp,
) -> Result<(), HeldBack> {
    let assessment = assess::assess(facts, config, calendar, now);
    check(facts, config, calendar, planned, now, &assessment)
}

fn held(gate: Gate, detail: impl Into<String>, retry_at: Option<Timestamp>) -> HeldBack {
    HeldBack {
        gate,
        detail: detail.into(),
        retry_at,
    }
}

pub(super) fn check(
    facts: &Facts,
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    planned: &Planned,
    now: Timestamp,
    a: &Assessment,
) -> Result<(), HeldBack> {
    scope_and_state(facts, planned, a)?;
    let messages = sorted_messages(facts);
    if !planned.kind.is_decided_closure() {
        replied_and_list(&messages, planned)?;
    }
    spacing(facts, config, cal, &messages, planned, now, a)?;
    window(facts, config, cal, planned, now, a)?;
    cap(facts, config, cal, now)?;
    mode(facts, &messages)
}

fn scope_and_state(facts: &Facts, planned: &Planned, a: &Assessment) -> Result<(), HeldBack> {
    if facts.excluded || facts.owner.excluded_by_owner {
        return Err(held(Gate::Scope, "the candidate is excluded", None));
    }
    if facts.role_or_null {
        return Err(held(Gate::Scope, "a role address or no address", None));
    }
    if !facts.in_scope {
        return Err(held(Gate::Scope, "the candidate is not in scope", None));
    }
    let ok = if planned.kind.is_decided_closure() {
        a.pending_decision.map(|(kind, _)| kind) == Some(planned.kind)
    } else {
        // Awaiting the owner means a reply came: gate 2 says so more precisely.
        matches!(a.state, State::AwaitingCandidate | State::AwaitingRecruiter)
    };
    if ok {
        Ok(())
    } else {
        let detail = match a.state {
            State::Closed if planned.kind.is_decided_closure() => {
                "the decision was already answered by a closure".to_string()
            }
            state if planned.kind.is_decided_closure() && state != State::Closed => {
                format!(
                    "the conversation is {}: no pending decision",
                    state.as_str()
                )
            }
            state => format!("the conversation is {}", state.as_str()),
        };
        Err(held(Gate::State, detail, None))
    }
}

fn replied_and_list(messages: &[&FactMessage], planned: &Planned) -> Result<(), HeldBack> {
    let Some(target) = messages.iter().find(|m| m.key == planned.reply_to) else {
        return Err(held(
            Gate::List,
            "the message being followed up is not in the conversation",
            None,
        ));
    };
    // Gate 2: anyone's human message after it, the owner's included.
    if let Some(later) = messages
        .iter()
        .find(|m| is_human(m) && (m.time, m.key) > (target.time, target.key))
    {
        let who = match later.side {
            Side::Candidate => "the candidate",
            Side::Owner => "the owner",
            Side::Other => "another participant",
        };
        return Err(held(
            Gate::Replied,
            format!(
                "{who} wrote at {} after the message being followed up",
                later.time
            ),
            None,
        ));
    }
    // Gate 3.
    if target.side != Side::Owner || !is_human(target) {
        return Err(held(
            Gate::List,
            "the message being followed up is not the owner's own human message",
            None,
        ));
    }
    if target.list_thread {
        return Err(held(Gate::List, "a list or bulk thread", None));
    }
    Ok(())
}

fn spacing(
    facts: &Facts,
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    messages: &[&FactMessage],
    planned: &Planned,
    now: Timestamp,
    a: &Assessment,
) -> Result<(), HeldBack> {
    let sent = |state: OutboxState| state.counts_as_sent();
    if let Some(row) = facts
        .automated
        .iter()
        .find(|r| r.kind == planned.kind && r.reply_to == planned.reply_to && sent(r.state))
    {
        return Err(held(
            Gate::Spacing,
            format!("this email {}", already(row)),
            None,
        ));
    }
    if planned.kind.is_follow_up() || planned.kind == Kind::ClosureSilence {
        let opened = a.candidate_wait_opened.unwrap_or(Timestamp::MIN);
        let (count, last) = assess::follow_ups(facts, messages, opened, sent);
        if planned.kind.is_follow_up() && count >= config.max_follow_ups.min(2) {
            return Err(held(
                Gate::Spacing,
                format!("max_follow_ups ({}) reached", config.max_follow_ups),
                None,
            ));
        }
        if let Some(last) = last.filter(|_| planned.kind.is_follow_up()) {
            let next = cal.add_business_days(last, FOLLOW_UP_SPACING_DAYS);
            if now < next {
                return Err(held(
                    Gate::Spacing,
                    format!("the last follow-up went at {last}; next not before {next}"),
                    Some(next),
                ));
            }
        }
        if planned.kind == Kind::ClosureSilence
            && let Some(row) = facts
                .automated
                .iter()
                .find(|r| r.kind == Kind::ClosureSilence && r.created_at >= opened && sent(r.state))
        {
            return Err(held(
                Gate::Spacing,
                format!("a closure {}", already(row)),
                None,
            ));
        }
    }
    let last_here = facts
        .automated
        .iter()
        .filter(|r| sent(r.state))
        .map(|r| r.time())
        .max();
    if let Some(last) = last_here.max(facts.recipient_last_automated_at) {
        let next = last
            .checked_add(SignedDuration::from_secs(RECIPIENT_SPACING_S))
            .unwrap_or(Timestamp::MAX);
        if now < next {
            return Err(held(
                Gate::Spacing,
                format!(
                    "an automated email went to this address at {last}; next not before {next}"
                ),
                Some(next),
            ));
        }
    }
    Ok(())
}

/// What became of an email that takes its slot, as the owner would say it (found in review:
/// a follow-up drafted and still waiting in Drafts was held back as "already sent", so the
/// owner could believe the candidate had it).
fn already(row: &super::SentRecord) -> String {
    let what = match row.state {
        OutboxState::Drafted => "was already drafted",
        OutboxState::Recorded => "was already recorded (dry-run)",
        OutboxState::Sending | OutboxState::Unknown => {
            "may already have gone (its outcome is unknown)"
        }
        _ => "was already sent",
    };
    format!("{what} at {}", row.time())
}

/// Gate 5, first half: due, past a decided closure's cancel window and digest, in send hours.
fn window(
    facts: &Facts,
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    planned: &Planned,
    now: Timestamp,
    a: &Assessment,
) -> Result<(), HeldBack> {
    let (start, end) = (config.send_start_minute, config.send_end_minute);
    if now < planned.due {
        return Err(held(
            Gate::Window,
            format!("not due before {}", planned.due),
            Some(planned.due),
        ));
    }
    if let Some((_, decided_at)) = a
        .pending_decision
        .filter(|_| planned.kind.is_decided_closure())
    {
        let window = SignedDuration::from_hours(i64::from(config.cancel_window_hours));
        let window_end = decided_at.checked_add(window).unwrap_or(Timestamp::MAX);
        if now < window_end {
            return Err(held(
                Gate::Window,
                format!("cancel window open until {window_end}"),
                Some(window_end),
            ));
        }
        let listed = facts.last_digest_at.is_some_and(|d| d > decided_at);
        if config.digest_on && config.cancel_window_hours > 0 && !listed {
            return Err(held(
                Gate::Window,
                "the closure waits until a digest has listed it",
                None,
            ));
        }
    }
    if !cal.in_window(now, start, end) {
        let next = cal.next_window_start(now, start, end);
        return Err(held(
            Gate::Window,
            format!("outside send hours; the window opens at {next}"),
            Some(next),
        ));
    }
    Ok(())
}

/// Gate 5, second half: the account's `daily_cap`; it lifts when tomorrow's window opens.
fn cap(
    facts: &Facts,
    config: &PolicyConfig,
    cal: &BusinessCalendar,
    now: Timestamp,
) -> Result<(), HeldBack> {
    let (start, end) = (config.send_start_minute, config.send_end_minute);
    if facts.account_sent_today >= config.daily_cap {
        let tomorrow = cal
            .tz
            .to_datetime(now)
            .date()
            .tomorrow()
            .ok()
            .and_then(|d| {
                cal.tz
                    .to_ambiguous_timestamp(d.to_datetime(Time::midnight()))
                    .compatible()
                    .ok()
            })
            .map(|midnight| cal.next_window_start(midnight, start, end));
        return Err(held(
            Gate::Cap,
            format!("daily_cap ({}) reached", config.daily_cap),
            tomorrow,
        ));
    }
    let spacing = facts
        .account_last_sent_at
        .map(|last| (last, account_spacing(config, &facts.candidate, last)));
    if config.mode == Mode::Auto
        && let Some((last, spacing)) = spacing
        && spacing.is_positive()
    {
        // On a whole second: a daemon waking at it finds the spacing over, not a moment short.
        let next = last
            .checked_add(spacing)
            .ok()
            .and_then(|t| {
                let up = i64::from(t.subsec_nanosecond() > 0);
                Timestamp::from_second(t.as_second().saturating_add(up)).ok()
            })
            .unwrap_or(Timestamp::MAX);
        if now < next {
            return Err(held(
                Gate::Cap,
                format!(
                    "the account's emails go out spaced: the last at {last}, this one not before {next}"
                ),
                Some(next),
            ));
        }
    }
    Ok(())
}

/// How long after the account's email of `last` the email to `candidate` may go: between
/// `send_spacing_s` and that plus `send_jitter_s`, drawn from both so that the policy stays a
/// function of its inputs.
fn account_spacing(config: &PolicyConfig, candidate: &str, last: Timestamp) -> SignedDuration {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::hash::DefaultHasher::new();
    (candidate, last.as_second()).hash(&mut hasher);
    let jitter = hasher.finish() % (config.send_jitter_s.max(0) as u64 + 1);
    SignedDuration::from_secs(config.send_spacing_s.max(0) + jitter as i64)
}

/// Gate 6: a draft still waiting unsent in Drafts blocks the next email of the conversation.
fn mode(facts: &Facts, messages: &[&FactMessage]) -> Result<(), HeldBack> {
    match unsent_draft_among(facts, messages) {
        Some(row) => Err(held(
            Gate::Mode,
            format!(
                "the draft of {} from {} has not been sent by the owner yet",
                row.kind.as_str(),
                row.created_at
            ),
            None,
        )),
        None => Ok(()),
    }
}

/// A draft candor made for the conversation that the owner has not sent yet (nor written to the
/// candidate since, nor lifted with `candidate resume`): while there is one, the mode gate holds
/// every next email of the conversation.
pub fn unsent_draft(facts: &Facts) -> Option<&super::SentRecord> {
    unsent_draft_among(facts, &sorted_messages(facts))
}

fn unsent_draft_among<'a>(
    facts: &'a Facts,
    messages: &[&FactMessage],
) -> Option<&'a super::SentRecord> {
    facts.automated.iter().find(|r| {
        r.state == OutboxState::Drafted
            && owner_wrote_after(messages, r.created_at).is_none()
            && !lifted(facts, r.created_at)
    })
}
