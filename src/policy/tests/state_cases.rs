//! One trace per state rule of SPEC §6: out-of-office, opt-out, bounce, `unknown` sends, the
//! owner's decisions, pauses and the hold folder.

use super::*;
use Kind::*;
use State::*;

const ASK: &str = "Hello Ann, would you be open to a short call about a backend role?";

fn cold_question(t: &mut Trace) {
    t.owner("2026-03-02T10:00", ASK);
}

#[test]
fn out_of_office_in_several_languages() {
    run(&[
        Case {
            name: "German OOO with a return date: paused until the next business day after it",
            build: |t| {
                cold_question(t);
                t.ooo(
                    "2026-03-02T10:05",
                    "Abwesenheitsnotiz",
                    "Ich bin bis zum 20.03.2026 nicht im Büro.",
                );
                t.now("2026-03-10T10:00");
            },
            state: Paused,
            planned: Some((FollowUp1, "2026-03-23T09:00")),
            held: None,
        },
        Case {
            name: "French OOO: the pause is over, the follow-up goes at work start",
            build: |t| {
                cold_question(t);
                t.ooo(
                    "2026-03-02T10:05",
                    "Réponse automatique",
                    "Je suis absent jusqu'au 13 mars 2026 inclus.",
                );
                t.now("2026-03-16T09:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-16T09:00")),
            held: None,
        },
        Case {
            name: "Italian OOO",
            build: |t| {
                cold_question(t);
                t.ooo(
                    "2026-03-02T10:05",
                    "Fuori ufficio",
                    "Sono fuori ufficio fino al 12 marzo 2026.",
                );
                t.now("2026-03-11T10:00");
            },
            state: Paused,
            planned: Some((FollowUp1, "2026-03-13T09:00")),
            held: None,
        },
        Case {
            name: "Swedish OOO: back on Wednesday 11 March, follow up on Thursday",
            build: |t| {
                cold_question(t);
                t.ooo(
                    "2026-03-02T10:05",
                    "Frånvaro",
                    "Jag är tillbaka den 11 mars.",
                );
                t.now("2026-03-11T10:00");
            },
            state: Paused,
            planned: Some((FollowUp1, "2026-03-12T09:00")),
            held: None,
        },
        Case {
            name: "Dutch OOO after the first follow-up delays the second",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Sent, "2026-03-09T10:00");
                t.ooo("2026-03-09T10:01", "Afwezig", "Ik ben terug op 20 maart.");
                t.now("2026-03-16T10:00");
            },
            state: Paused,
            planned: Some((FollowUp2, "2026-03-23T09:00")),
            held: None,
        },
        Case {
            name: "OOO without a date: 14 days",
            build: |t| {
                cold_question(t);
                t.ooo(
                    "2026-03-02T10:05",
                    "Out of office",
                    "I am currently out of the office with limited access to email.",
                );
                t.now("2026-03-10T10:00");
            },
            state: Paused,
            planned: Some((FollowUp1, "2026-03-16T10:05")),
            held: None,
        },
        Case {
            name: "Spanish OOO returning in over 30 days: held",
            build: |t| {
                cold_question(t);
                t.ooo(
                    "2026-03-02T10:05",
                    "Fuera de la oficina",
                    "Estaré fuera de la oficina hasta el 15 de mayo de 2026.",
                );
                t.now("2026-03-10T10:00");
            },
            state: Held,
            planned: None,
            held: None,
        },
    ]);
}

#[test]
fn bounces_and_opt_outs_are_final_until_resumed() {
    run(&[
        Case {
            name: "hard bounce",
            build: |t| {
                cold_question(t);
                t.hard_bounce("2026-03-02T10:01");
                t.now("2026-03-09T10:00");
            },
            state: Bounced,
            planned: None,
            held: None,
        },
        Case {
            name: "a resume after the bounce lifts it",
            build: |t| {
                cold_question(t);
                t.hard_bounce("2026-03-02T10:01");
                t.facts.owner.resumed_at = Some(t.at("2026-03-03T09:00"));
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "a clear opt-out",
            build: |t| {
                cold_question(t);
                t.candidate("2026-03-03T10:00", "Please stop contacting me.");
                t.owner(
                    "2026-03-03T11:00",
                    "Sorry to hear that. Could you tell me why?",
                );
                t.now("2026-03-20T10:00");
            },
            state: OptedOut,
            planned: None,
            held: None,
        },
        Case {
            name: "a clear opt-out lifted by a resume after it",
            build: |t| {
                cold_question(t);
                t.candidate(
                    "2026-03-03T10:00",
                    "Bitte kontaktieren Sie mich nicht mehr.",
                );
                t.facts.owner.resumed_at = Some(t.at("2026-03-04T09:00"));
                t.now("2026-03-20T10:00");
            },
            state: AwaitingRecruiter,
            planned: None,
            held: None,
        },
        Case {
            name: "an ambiguous opt-out: held, ask the owner",
            build: |t| {
                cold_question(t);
                t.candidate(
                    "2026-03-03T10:00",
                    "Thanks, but not interested at the moment.",
                );
                t.owner(
                    "2026-03-03T11:00",
                    "No problem. Would you like me to check back in June?",
                );
                t.now("2026-03-20T10:00");
            },
            state: Held,
            planned: None,
            held: None,
        },
        Case {
            name: "a later plain message supersedes the ambiguous one",
            build: |t| {
                cold_question(t);
                t.candidate("2026-03-03T10:00", "Vielleicht später.");
                t.candidate("2026-03-04T10:00", "Actually, yes: when can we talk?");
                t.now("2026-03-05T10:00");
            },
            state: AwaitingRecruiter,
            planned: None,
            held: None,
        },
        Case {
            name: "an unknown send holds the conversation",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Unknown, "2026-03-09T10:00");
                t.now("2026-03-20T10:00");
            },
            state: Held,
            planned: None,
            held: None,
        },
        Case {
            name: "a follow-up refused for good (550) holds the conversation: no follow_up_2",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Failed, "2026-03-09T10:00");
                t.now("2026-03-20T10:00");
            },
            state: Held,
            planned: None,
            held: None,
        },
        Case {
            name: "after a failed follow-up and a resume, still no \"once more\" follow-up",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Failed, "2026-03-09T10:00");
                t.facts.owner.resumed_at = Some(t.at("2026-03-10T10:00"));
                t.now("2026-03-20T10:00");
            },
            state: AwaitingCandidate,
            planned: None,
            held: None,
        },
        Case {
            name: "the candidate writing after a failed send lifts the hold",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Failed, "2026-03-09T10:00");
                t.candidate("2026-03-10T10:00", "Sorry, my mail server was down. Yes!");
                t.now("2026-03-11T10:00");
            },
            state: AwaitingRecruiter,
            planned: None,
            held: None,
        },
    ]);
}

/// The candidate asked for news; the owner decided "not selected" on Tuesday 11:00.
fn decided(t: &mut Trace) {
    t.candidate("2026-03-02T10:00", "Hi, any news about my application?");
    t.facts.owner.decided = Some((Outcome::NotSelected, t.at("2026-03-03T11:00")));
}

#[test]
fn closures_the_owner_decided() {
    run(&[
        Case {
            name: "inside the cancel window: planned, not due",
            build: |t| {
                decided(t);
                t.now("2026-03-03T15:00");
            },
            state: Closed,
            planned: Some((ClosureNotSelected, "2026-03-04T11:00")),
            held: None,
        },
        Case {
            name: "past the window but no digest listed it yet",
            build: |t| {
                decided(t);
                t.now("2026-03-04T12:00");
            },
            state: Closed,
            planned: Some((ClosureNotSelected, "2026-03-04T11:00")),
            held: Some(Gate::Window),
        },
        Case {
            name: "past the window and listed by a digest",
            build: |t| {
                decided(t);
                t.facts.last_digest_at = Some(t.at("2026-03-04T08:00"));
                t.now("2026-03-04T12:00");
            },
            state: Closed,
            planned: Some((ClosureNotSelected, "2026-03-04T11:00")),
            held: None,
        },
        Case {
            name: "a window of 0 needs no digest",
            build: |t| {
                decided(t);
                t.config.cancel_window_hours = 0;
                t.now("2026-03-03T11:00");
            },
            state: Closed,
            planned: Some((ClosureNotSelected, "2026-03-03T11:00")),
            held: None,
        },
        Case {
            name: "digests off: the window alone",
            build: |t| {
                decided(t);
                t.config.digest_on = false;
                t.now("2026-03-04T11:00");
            },
            state: Closed,
            planned: Some((ClosureNotSelected, "2026-03-04T11:00")),
            held: None,
        },
        Case {
            name: "an outcome folder on Friday evening: due on Monday at window start",
            build: |t| {
                t.candidate("2026-03-02T10:00", "Hi, any news?");
                t.facts.owner.outcome_folder =
                    Some((Outcome::PositionFilled, t.at("2026-03-06T20:00")));
                t.config.digest_on = false;
                t.now("2026-03-09T09:00");
            },
            state: Closed,
            planned: Some((ClosurePositionFilled, "2026-03-09T09:00")),
            held: None,
        },
        Case {
            name: "a resume after the decision cancels it",
            build: |t| {
                decided(t);
                t.facts.owner.resumed_at = Some(t.at("2026-03-03T12:00"));
                t.now("2026-03-05T12:00");
            },
            state: AwaitingRecruiter,
            planned: None,
            held: None,
        },
        Case {
            name: "a pause after the decision cancels it",
            build: |t| {
                decided(t);
                t.facts.owner.paused_indefinitely = true;
                t.facts.owner.paused_at = Some(t.at("2026-03-03T12:00"));
                t.now("2026-03-05T12:00");
            },
            state: Paused,
            planned: None,
            held: None,
        },
        Case {
            name: "the hold folder after the decision cancels it",
            build: |t| {
                decided(t);
                t.facts.owner.hold_folder_at = Some(t.at("2026-03-03T12:00"));
                t.now("2026-03-05T12:00");
            },
            state: Held,
            planned: None,
            held: None,
        },
        Case {
            name: "once its closure is sent the decision is done",
            build: |t| {
                decided(t);
                t.row(ClosureNotSelected, OutboxState::Sent, "2026-03-05T09:00");
                t.now("2026-03-06T12:00");
            },
            state: Closed,
            planned: None,
            held: None,
        },
        Case {
            name: "an opt-out after the decision wins: nothing is sent",
            build: |t| {
                decided(t);
                t.candidate("2026-03-03T13:00", "Please remove me from your list.");
                t.facts.last_digest_at = Some(t.at("2026-03-04T08:00"));
                t.now("2026-03-05T12:00");
            },
            state: OptedOut,
            planned: None,
            held: None,
        },
    ]);
}

/// Found by the synthetic mailbox's plan test: the owner invited Ann and the hiring manager,
/// the manager's calendar answered the owner alone ("Accepted: ..."), and the owner closed Ann.
/// The closure answered the manager's message, which Ann never got, under its subject.
#[test]
fn a_decided_closure_answers_a_message_the_candidate_was_party_to() {
    let mut t = Trace::new();
    decided(&mut t);
    let invite = t.owner(
        "2026-03-02T11:00",
        "You are invited to an interview on Friday.",
    );
    t.other("2026-03-02T12:00", "Accepted: Interview");
    t.config.digest_on = false;
    t.now("2026-03-05T12:00");
    let decision = t.decide();
    assert_eq!(
        decision.planned.as_ref().map(|p| (p.kind, p.reply_to)),
        Some((ClosureNotSelected, invite)),
        "{decision:?}"
    );
}

#[test]
fn pauses_by_the_owner() {
    run(&[
        Case {
            name: "paused until a date",
            build: |t| {
                cold_question(t);
                t.facts.owner.paused_until = Some("2026-03-20".parse().expect("date"));
                t.facts.owner.paused_at = Some(t.at("2026-03-03T09:00"));
                t.now("2026-03-10T10:00");
            },
            state: Paused,
            planned: None,
            held: None,
        },
        Case {
            name: "the pause ends when work starts on its date",
            build: |t| {
                cold_question(t);
                t.facts.owner.paused_until = Some("2026-03-20".parse().expect("date"));
                t.facts.owner.paused_at = Some(t.at("2026-03-03T09:00"));
                t.now("2026-03-20T09:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "paused indefinitely, lifted by a resume",
            build: |t| {
                cold_question(t);
                t.facts.owner.paused_indefinitely = true;
                t.facts.owner.paused_at = Some(t.at("2026-03-03T09:00"));
                t.facts.owner.resumed_at = Some(t.at("2026-03-04T09:00"));
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "the hold folder",
            build: |t| {
                cold_question(t);
                t.facts.owner.hold_folder_at = Some(t.at("2026-03-04T09:00"));
                t.now("2026-03-09T10:00");
            },
            state: Held,
            planned: None,
            held: None,
        },
    ]);
}

/// A candidate's calendar client accepts the owner's interview invitation ("Accepted:
/// Interview"): the candidate has answered, so no follow-up; and it asks nothing, so the owner is
/// not awaited nor overdue for it (the synthetic mailbox's invite responses showed candidates
/// "waiting on you" for days after accepting).
#[test]
fn an_accepted_invitation_leaves_nobody_waiting() {
    let mut t = Trace::new();
    t.owner(
        "2026-03-02T10:00",
        "Would Friday at 14:00 work for an interview?",
    );
    t.candidate("2026-03-02T11:00", "Ann Lee has accepted this meeting.");
    t.last_message().subject = "Accepted: Interview: Senior engineer role".to_string();
    t.now("2026-03-20T10:00");
    let d = t.decide();
    assert_eq!(
        (d.state, d.overdue, d.waiting_since, d.planned.is_some()),
        (State::AwaitingCandidate, false, None, false),
        "{d:?}"
    );
    assert_eq!(
        d.notes,
        vec!["answered, nothing asked back (an accepted invitation)"]
    );
    // The same answer written by hand asks for the owner's reply.
    t.last_message().subject = "Re: Interview: Senior engineer role".to_string();
    let d = t.decide();
    assert_eq!(
        (d.state, d.overdue),
        (State::AwaitingRecruiter, true),
        "{d:?}"
    );
}
