//! `candor plan`: every email candor would send next, and every conversation it holds back.

use std::fmt::Write as _;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::plan::AccountPlan;
use crate::policy::State;

/// The `plan --json` entries of one account (SPEC §11): planned emails and held conversations.
pub fn plan_json(plan: &AccountPlan, now: Timestamp) -> (Vec<Value>, Vec<Value>) {
    let mut planned = Vec::new();
    let mut held = Vec::new();
    for verdict in &plan.verdicts {
        let conversation = &plan.account.conversations[verdict.conversation];
        let d = &verdict.decision;
        if let Some(h) = &d.held {
            held.push(json!({
                "account": plan.account.name,
                "candidate": conversation.address,
                "gate": h.gate.as_str(),
                "detail": h.detail,
                "state": d.state.as_str(),
                "kind": d.planned.as_ref().map(|p| p.kind.as_str()),
                "retry_at": h.retry_at.map(|t| t.to_string()),
            }));
        } else if d.planned.is_none() && held_state(d.state) && verdict.facts.in_scope {
            // Nothing is planned because of the conversation's state: say so.
            held.push(json!({
                "account": plan.account.name,
                "candidate": conversation.address,
                "gate": "state",
                "detail": if d.notes.is_empty() { d.state.as_str().to_owned() } else { d.notes.join("; ") },
                "state": d.state.as_str(),
                "kind": null,
                "retry_at": null,
            }));
        } else if let Some(p) = &d.planned {
            planned.push(json!({
                "account": plan.account.name,
                "candidate": conversation.address,
                // The address it goes to: one of the candidate's, perhaps not the canonical one.
                "to": conversation.recipient(&plan.account.messages),
                "kind": p.kind.as_str(),
                "due": p.due.to_string(),
                "reason": p.reason,
                "state": d.state.as_str(),
                "due_now": p.due <= now,
            }));
        }
    }
    (planned, held)
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
    for p in &planned {
        let due: Timestamp = p["due"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(now);
        let when = if due <= now {
            "now".to_owned()
        } else {
            format!(
                "at {}",
                due.to_zoned_datetime(plan.account.calendar.tz.clone())
                    .strftime("%a %Y-%m-%d %H:%M %Z")
            )
        };
        let (candidate, to) = (
            p["candidate"].as_str().unwrap_or_default(),
            p["to"].as_str().unwrap_or_default(),
        );
        let _ = writeln!(
            out,
            // As wide as "at Sun 2026-03-29 10:00 CEST", so that the reasons line up (found in
            // review: each "at ..." pushed its reason 17 columns right of a "now").
            "  {:<24} {:<34} {:<28} {}{}",
            p["kind"].as_str().unwrap_or_default(),
            candidate,
            when,
            p["reason"].as_str().unwrap_or_default(),
            if to == candidate {
                String::new()
            } else {
                format!(" (to {to})")
            }
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
