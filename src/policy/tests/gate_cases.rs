//! One trace per gate of SPEC §7, the re-check right before sending, and the figures beside the
//! state (reply_to, deadlines, SLA, UTC instants across DST).

use super::*;
use Kind::*;
use State::*;

const ASK: &str = "Hi Ann, are you still looking for a new role?";

fn asked(t: &mut Trace) {
    t.owner("2026-03-02T10:00", ASK);
}

#[test]
fn each_gate_holds_a_due_follow_up() {
    run(&[
        Case {
            name: "scope: not in scope",
            build: |t| {
                asked(t);
                t.facts.in_scope = false;
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: Some(Gate::Scope),
        },
        Case {
            name: "scope: excluded by the owner wins over everything after it",
            build: |t| {
                asked(t);
                t.facts.owner.excluded_by_owner = true;
                t.facts.account_sent_today = 1000;
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: Some(Gate::Scope),
        },
        Case {
            name: "scope: a role address",
            build: |t| {
                asked(t);
                t.facts.role_or_null = true;
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: Some(Gate::Scope),
        },
        Case {
            name: "replied: another participant of the thread answered",
            build: |t| {
                asked(t);
                t.other(
                    "2026-03-03T09:00",
                    "Ann is on parental leave; I am her colleague.",
                );
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: Some(Gate::Replied),
        },
        Case {
            name: "list: the owner's message sits in a list thread",
            build: |t| {
                asked(t);
                t.last_message().list_thread = true;
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: Some(Gate::List),
        },
        Case {
            name: "spacing: another conversation mailed this address 1 day ago",
            build: |t| {
                asked(t);
                t.facts.recipient_last_automated_at = Some(t.at("2026-03-08T10:00"));
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: Some(Gate::Spacing),
        },
        Case {
            name: "window: due, but now is Saturday",
            build: |t| {
                asked(t);
                t.now("2026-03-14T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: Some(Gate::Window),
        },
        Case {
            name: "cap: the account sent its daily_cap today",
            build: |t| {
                asked(t);
                t.facts.account_sent_today = 50;
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: Some(Gate::Cap),
        },
        Case {
            name: "mode: a draft of this conversation still waits unsent in Drafts",
            build: |t| {
                asked(t);
                t.row(FollowUp1, OutboxState::Drafted, "2026-03-09T10:00");
                t.now("2026-03-16T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp2, "2026-03-16T10:00")),
            held: Some(Gate::Mode),
        },
        Case {
            name: "mode: dry-run passes (the caller only records)",
            build: |t| {
                asked(t);
                t.config.mode = Mode::DryRun;
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "mode: auto passes",
            build: |t| {
                asked(t);
                t.config.mode = Mode::Auto;
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
    ]);
}

/// The planned email of `t` at `t.now`, then the caller's re-check at `recheck` after `then`.
fn recheck(
    build: fn(&mut Trace),
    then: fn(&mut Trace),
    recheck_at: &str,
) -> (Planned, Result<(), HeldBack>) {
    let mut t = Trace::new();
    build(&mut t);
    let decision = t.decide();
    assert_eq!(decision.held, None, "due and clear before the change");
    let planned = decision.planned.expect("an email is planned");
    then(&mut t);
    t.now(recheck_at);
    let verdict = gates(&t.facts, &t.config, &t.cal, &planned, t.now);
    (planned, verdict)
}

fn due_follow_up(t: &mut Trace) {
    asked(t);
    t.now("2026-03-09T10:00");
}

#[test]
fn the_recheck_before_sending_sees_what_changed() {
    let gate = |r: Result<(), HeldBack>| r.err().map(|h| h.gate);
    let (_, verdict) = recheck(due_follow_up, |_| {}, "2026-03-09T10:01");
    assert_eq!(gate(verdict), None, "nothing changed");
    let (_, verdict) = recheck(
        due_follow_up,
        |t| {
            t.candidate("2026-03-09T10:00:30", "Sorry for the delay, yes!");
        },
        "2026-03-09T10:01",
    );
    assert_eq!(gate(verdict), Some(Gate::Replied), "the candidate answered");
    let (_, verdict) = recheck(
        due_follow_up,
        |t| {
            t.push(
                Side::Other,
                Class::Human,
                "2026-03-09T10:00:30",
                "I'm Ann's new address",
            );
        },
        "2026-03-09T10:01",
    );
    assert_eq!(
        gate(verdict),
        Some(Gate::Replied),
        "a second address answered"
    );
    let (_, verdict) = recheck(
        due_follow_up,
        |t| {
            t.owner("2026-03-09T10:00:30", "PS: the role is remote.");
        },
        "2026-03-09T10:01",
    );
    assert_eq!(gate(verdict), Some(Gate::Replied), "the owner wrote again");
    let (_, verdict) = recheck(
        due_follow_up,
        |t| {
            t.candidate("2026-03-09T10:00:30", "Unsubscribe");
        },
        "2026-03-09T10:01",
    );
    assert_eq!(gate(verdict), Some(Gate::State), "an opt-out is final");
    let (_, verdict) = recheck(
        due_follow_up,
        |t| t.row(FollowUp1, OutboxState::Sent, "2026-03-09T10:00:10"),
        "2026-03-09T10:01",
    );
    assert_eq!(gate(verdict), Some(Gate::Spacing), "never twice");
    let (_, verdict) = recheck(due_follow_up, |_| {}, "2026-03-09T17:00");
    assert_eq!(
        gate(verdict),
        Some(Gate::Window),
        "the window closed meanwhile"
    );
}

/// Found in review: a follow-up drafted and still waiting in the owner's Drafts was held back as
/// "this email was already sent", which told the owner the candidate had it. The detail says
/// what became of the email, and when.
#[test]
fn an_email_that_takes_its_slot_is_named_by_what_became_of_it() {
    let detail = |then: fn(&mut Trace)| {
        let (_, verdict) = recheck(due_follow_up, then, "2026-03-09T10:01");
        let held = verdict.expect_err("the email already has its row");
        assert_eq!(held.gate, Gate::Spacing, "{held:?}");
        held.detail
    };
    assert_eq!(
        detail(|t| t.row(FollowUp1, OutboxState::Drafted, "2026-03-09T10:00:10")),
        "this email was already drafted at 2026-03-09T09:00:10Z"
    );
    assert_eq!(
        detail(|t| t.row(FollowUp1, OutboxState::Recorded, "2026-03-09T10:00:10")),
        "this email was already recorded (dry-run) at 2026-03-09T09:00:10Z"
    );
    assert_eq!(
        detail(|t| t.row(FollowUp1, OutboxState::Sent, "2026-03-09T10:00:10")),
        "this email was already sent at 2026-03-09T09:00:10Z"
    );
}

#[test]
fn a_reply_between_decision_and_send_moves_a_decided_closure() {
    let mut t = Trace::new();
    t.candidate("2026-03-02T10:00", "Hi, any news?");
    t.facts.owner.decided = Some((Outcome::Withdrawn, t.at("2026-03-03T11:00")));
    t.facts.last_digest_at = Some(t.at("2026-03-04T08:00"));
    t.now("2026-03-04T11:00");
    let planned = t.decide().planned.expect("closure planned");
    assert_eq!(planned.kind, ClosureWithdrawn);
    // The candidate writes again before the send: the closure answers that instead (gates 2 and
    // 3 concern follow-ups only), and the old plan still passes the gates.
    let reply = t.candidate("2026-03-04T11:00:30", "Any update?");
    t.now("2026-03-04T11:01");
    let fresh = t.decide();
    assert_eq!(fresh.held, None);
    assert_eq!(fresh.planned.as_ref().map(|p| p.reply_to), Some(reply));
    assert_eq!(gates(&t.facts, &t.config, &t.cal, &planned, t.now), Ok(()));
    // An address candor does not know as theirs (a second address not configured as an alias)
    // writes too: the closure, sent to the candidate's known address, does not answer a message
    // that address never got; nor is it held for it.
    t.other(
        "2026-03-04T11:01:30",
        "Any update? (writing from my work address)",
    );
    t.now("2026-03-04T11:02");
    let fresh = t.decide();
    assert_eq!(fresh.held, None);
    assert_eq!(fresh.planned.as_ref().map(|p| p.reply_to), Some(reply));
    assert_eq!(gates(&t.facts, &t.config, &t.cal, &planned, t.now), Ok(()));
}

#[test]
fn reply_to_deadlines_sla_and_utc_instants() {
    // The next email follows up the sent draft, not the first message.
    let mut t = Trace::new();
    asked(&mut t);
    t.row(FollowUp1, OutboxState::Drafted, "2026-03-09T10:00");
    let sent_draft = t.owner("2026-03-09T14:00", "Just checking in.");
    t.now("2026-03-10T10:00");
    let d = t.decide();
    assert_eq!(d.planned.as_ref().map(|p| p.reply_to), Some(sent_draft));
    assert_eq!(d.next_deadline, Some(t.at("2026-03-16T14:00")));

    // Across the spring DST change the due keeps its local time, so UTC moves by an hour.
    let mut t = Trace::new();
    t.owner("2026-03-25T10:00", ASK);
    t.now("2026-03-26T10:00");
    let due = t.decide().planned.expect("planned").due;
    assert_eq!(
        due,
        "2026-04-01T08:00:00Z"
            .parse::<Timestamp>()
            .expect("instant")
    );
    let mut t = Trace::new();
    t.owner("2026-10-22T16:30", ASK);
    t.now("2026-10-23T10:00");
    let due = t.decide().planned.expect("planned").due;
    assert_eq!(
        due,
        "2026-10-29T15:30:00Z"
            .parse::<Timestamp>()
            .expect("instant")
    );

    // Recruiter SLA: overdue after 2 business days, and the deadline says when.
    let mut t = Trace::new();
    t.candidate("2026-03-06T10:00", "Hello, I'd like to apply.");
    t.now("2026-03-10T09:59");
    let d = t.decide();
    assert_eq!((d.state, d.overdue), (AwaitingRecruiter, false));
    assert_eq!(d.waiting_since, Some(t.at("2026-03-06T10:00")));
    assert_eq!(d.next_deadline, Some(t.at("2026-03-10T10:00")));
    t.now("2026-03-10T10:00");
    assert!(t.decide().overdue);

    // Held by the window or cap: the deadline is when the hold may lift.
    let mut t = Trace::new();
    asked(&mut t);
    t.now("2026-03-09T18:00");
    assert_eq!(t.decide().next_deadline, Some(t.at("2026-03-10T09:00")));
    t.facts.account_sent_today = 50;
    t.now("2026-03-10T10:00");
    let d = t.decide();
    assert_eq!(d.held.map(|h| h.gate), Some(Gate::Cap));
    assert_eq!(d.next_deadline, Some(t.at("2026-03-11T09:00")));

    // The 3-day rule per recipient lifts by itself.
    let mut t = Trace::new();
    asked(&mut t);
    t.facts.recipient_last_automated_at = Some(t.at("2026-03-08T10:00"));
    t.now("2026-03-09T10:00");
    assert_eq!(t.decide().next_deadline, Some(t.at("2026-03-11T10:00")));
}

/// SPEC §7.5: the account's emails are spaced with jitter. Right after one went out, the next
/// waits 30 to 90 s, and says until when; drafts and dry-run records go nowhere and are not
/// spaced.
#[test]
fn the_accounts_emails_are_spaced_with_jitter() {
    let mut t = Trace::new();
    t.config.mode = Mode::Auto;
    asked(&mut t);
    t.now("2026-03-09T10:00");
    t.facts.account_last_sent_at = Some(t.at("2026-03-09T09:59:50"));
    let held = t.decide().held.expect("held right after another email");
    assert_eq!(held.gate, Gate::Cap, "{held:?}");
    let retry = held.retry_at.expect("it says when");
    let after = retry.duration_since(t.at("2026-03-09T09:59:50")).as_secs();
    assert!((30..=90).contains(&after), "{after} s after the last");
    assert_eq!(t.decide().next_deadline, Some(retry));

    t.facts.account_last_sent_at = Some(t.at("2026-03-09T09:58:00"));
    assert_eq!(t.decide().held, None, "two minutes later it goes");

    t.facts.account_last_sent_at = Some(t.at("2026-03-09T09:59:50"));
    for mode in [Mode::Drafts, Mode::DryRun] {
        t.config.mode = mode;
        assert_eq!(t.decide().held, None, "{mode:?}");
    }

    // The jitter varies from one email to the next.
    let spacings: std::collections::BTreeSet<i64> = (0..40)
        .map(|i| {
            let mut t = Trace::new();
            t.config.mode = Mode::Auto;
            asked(&mut t);
            t.now("2026-03-09T10:00");
            let last = t.at("2026-03-09T09:59:59") - jiff::SignedDuration::from_secs(i);
            t.facts.account_last_sent_at = Some(last);
            t.decide()
                .held
                .and_then(|h| h.retry_at)
                .map_or(0, |r| r.duration_since(last).as_secs())
        })
        .collect();
    assert!(spacings.len() > 5, "{spacings:?}");
}

/// Found in review: in drafts mode, follow-up 1 was drafted; the owner deleted the draft unsent
/// and ran `candor candidate resume`. The next email said "following up once more" to a
/// candidate who never got the first: a discarded draft takes no follow-up's place.
#[test]
fn a_discarded_draft_then_resume_makes_the_next_email_the_first_follow_up() {
    let mut t = Trace::new();
    asked(&mut t);
    t.row(FollowUp1, OutboxState::Drafted, "2026-03-09T10:00");
    t.now("2026-03-16T10:00");
    let d = t.decide();
    assert_eq!(
        d.held.map(|h| h.gate),
        Some(Gate::Mode),
        "the draft waits for the owner"
    );
    t.facts.owner.resumed_at = Some(t.at("2026-03-12T09:00"));
    let d = t.decide();
    assert_eq!(d.planned.map(|p| p.kind), Some(FollowUp1), "{:?}", d.notes);
    // A draft the owner sent (its copy is in Sent) counts as follow-up 1, resume or not.
    t.push(
        Side::Owner,
        Class::Own,
        "2026-03-10T08:00",
        "Just following up",
    );
    t.last_message().own_kind = Some(FollowUp1);
    let d = t.decide();
    assert_eq!(d.planned.map(|p| p.kind), Some(FollowUp2), "{:?}", d.notes);
}
