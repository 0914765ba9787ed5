//! `candor plan`: every email candor would send next, and every conversation it holds back.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::plan::{AccountPlan, Verdict};
use crate::policy::{self, State};

/// The `plan --json` entries of one account (SPEC §11): planned emails and held conversations.
pub fn plan_json(plan: &AccountPlan, now: Timestamp) -> (Vec<Value>, Vec<Value>) {
    let mut planned = Vec::new();
    let mut held = Vec::new();
    for verdict in &plan.verdicts {
        match entry(plan, verdict, now) {
            Some(Entry::Planned(p)) => planned.push(p),
            Some(Entry::Held(h)) => held.push(h),
            None => {}
        }
    }
    (planned, held)
}

/// One conversation's line in `plan --json`, if it has one.
enum Entry {
    Planned(Value),
    Held(Value),
}

fn entry(plan: &AccountPlan, verdict: &Verdict, now: Timestamp) -> Option<Entry> {
    let conversation = &plan.account.conversations[verdict.conversation];
    let d = &verdict.decision;
    if let Some(h) = &d.held {
        Some(Entry::Held(json!({
            "account": plan.account.name,
            "candidate": conversation.address,
            "gate": h.gate.as_str(),
            "detail": h.detail,
            "state": d.state.as_str(),
            "kind": d.planned.as_ref().map(|p| p.kind.as_str()),
            "retry_at": h.retry_at.map(|t| t.to_string()),
        })))
    } else if d.planned.is_none() && held_state(d.state) && verdict.facts.in_scope {
        // Nothing is planned because of the conversation's state: say so.
        Some(Entry::Held(json!({
            "account": plan.account.name,
            "candidate": conversation.address,
            "gate": "state",
            "detail": if d.notes.is_empty() { d.state.as_str().to_owned() } else { d.notes.join("; ") },
            "state": d.state.as_str(),
            "kind": null,
            "retry_at": null,
        })))
    } else {
        d.planned.as_ref().map(|p| {
            // Not due yet, so the gates have not been asked; the mode gate will hold it while a
            // draft of the conversation waits in Drafts: said now rather than on the day (found
            // in review: plan listed Bruno's second follow-up for Thursday while his first was
            // still an unsent draft).
            let waits_for = (p.due > now)
                .then(|| policy::unsent_draft(&verdict.facts))
                .flatten()
                .map(|row| {
                    format!(
                        "held while your draft of {} from {} is unsent",
                        row.kind.as_str(),
                        row.created_at
                    )
                });
            Entry::Planned(json!({
                "account": plan.account.name,
                "candidate": conversation.address,
                // The address it goes to: one of the candidate's, perhaps not the canonical one.
                "to": conversation.recipient(&plan.account.messages),
                "kind": p.kind.as_str(),
                "due": p.due.to_string(),
                "reason": p.reason,
                "state": d.state.as_str(),
                "due_now": p.due <= now,
                "waits_for": waits_for,
            }))
        })
    }
}

/// What `candidate show` adds below the timeline: the conversation's state, what candor will
/// do next or why it holds back, and the emails candor made for the candidate (found in
/// review: the recruiter looking at one candidate saw neither the state nor a draft waiting
/// in Drafts).
pub fn conversation_text(plan: &AccountPlan, index: usize, now: Timestamp) -> String {
    let mut out = String::new();
    let Some(verdict) = plan.verdicts.iter().find(|v| v.conversation == index) else {
        return out;
    };
    let conversation = &plan.account.conversations[index];
    let _ = writeln!(out, "state: {}", verdict.decision.state.as_str());
    let next = match entry(plan, verdict, now) {
        Some(Entry::Planned(p)) => format!(
            "{} {}: {}",
            p["kind"].as_str().unwrap_or_default(),
            when(plan, due_of(&p, now), now),
            reason_of(&p)
        ),
        Some(Entry::Held(h)) => format!(
            "held back ({}): {}",
            h["gate"].as_str().unwrap_or_default(),
            h["detail"].as_str().unwrap_or_default()
        ),
        None if !verdict.facts.in_scope => {
            "nothing: out of scope, tracked but never written to".to_owned()
        }
        None => "nothing planned".to_owned(),
    };
    let _ = writeln!(out, "next: {next}");
    let rows: Vec<_> = plan
        .extra
        .rows
        .iter()
        .filter(|r| r.kind != "digest" && conversation.addresses.contains(&r.candidate))
        .collect();
    for r in rows {
        let _ = writeln!(
            out,
            "candor's email {}: {} {} {}",
            r.id,
            r.kind,
            r.state,
            super::outbox_when(r)
        );
    }
    out
}

/// A planned entry's due time.
fn due_of(p: &Value, now: Timestamp) -> Timestamp {
    p["due"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(now)
}

/// A planned entry's reason, with what will hold it and where it goes when that is not the
/// candidate's address.
fn reason_of(p: &Value) -> String {
    let (candidate, to) = (
        p["candidate"].as_str().unwrap_or_default(),
        p["to"].as_str().unwrap_or_default(),
    );
    format!(
        "{}{}{}",
        p["reason"].as_str().unwrap_or_default(),
        p["waits_for"]
            .as_str()
            .map(|w| format!("; {w}"))
            .unwrap_or_default(),
        if to == candidate {
            String::new()
        } else {
            format!(" (to {to})")
        }
    )
}

/// "now", or the local time in the account's time zone.
fn when(plan: &AccountPlan, due: Timestamp, now: Timestamp) -> String {
    if due <= now {
        "now".to_owned()
    } else {
        format!(
            "at {}",
            due.to_zoned_datetime(plan.account.calendar.tz.clone())
                .strftime("%a %Y-%m-%d %H:%M %Z")
        )
    }
}

fn held_state(state: State) -> bool {
    matches!(
        state,
        State::Paused | State::Held | State::Bounced | State::OptedOut
    )
}

/// The same, for people.
pub fn plan_text(plan: &AccountPlan, now: Timestamp) -> String {
    let (planned, held) = plan_json(plan, now);
    let mut out = String::new();
    let _ = writeln!(out, "{} ({} mode)", plan.account.name, plan.mode_name);
    if planned.is_empty() {
        let _ = writeln!(out, "  nothing planned");
    }
    let whens: Vec<String> = planned
        .iter()
        .map(|p| when(plan, due_of(p, now), now))
        .collect();
    // As wide as the longest due, so that the reasons line up (found in review: each "at ..."
    // pushed its reason 17 columns right of a "now"; a fixed width fitted "CEST" but not a zone
    // whose abbreviation is its offset, such as Asia/Kathmandu's "+0545").
    let width = whens.iter().map(|w| w.chars().count()).max().unwrap_or(0);
    for (p, when) in planned.iter().zip(&whens) {
        let _ = writeln!(
            out,
            "  {:<24} {:<34} {:<width$} {}",
            p["kind"].as_str().unwrap_or_default(),
            p["candidate"].as_str().unwrap_or_default(),
            when,
            reason_of(p)
        );
    }
    let (scope, other): (Vec<&Value>, Vec<&Value>) =
        held.iter().partition(|h| h["gate"] == "scope");
    if !other.is_empty() {
        let _ = writeln!(out, "  held back:");
    }
    for h in other {
        let _ = writeln!(
            out,
            "  {:<10} {:<34} {}",
            h["gate"].as_str().unwrap_or_default(),
            h["candidate"].as_str().unwrap_or_default(),
            h["detail"].as_str().unwrap_or_default()
        );
    }
    if !scope.is_empty() {
        let _ = writeln!(
            out,
            "  {} out of scope {} tracked but never written to (see `candor plan --json`)",
            super::count(scope.len(), "conversation", "conversations"),
            if scope.len() == 1 { "is" } else { "are" }
        );
    }
    out.trim_end().to_owned()
}
