//! One trace per timing rule of SPEC §6: follow-ups, closures after silence, what expects an
//! answer, closings, the activation horizon, DST, holidays and the send window.

use super::*;
use Kind::*;
use State::*;

const ASK: &str = "Hello Ann, would you be open to a short call about a backend role?";

fn cold_question(t: &mut Trace) {
    t.owner("2026-03-02T10:00", ASK);
}

/// The candidate answered once before; the owner then asked something.
fn replied_then_asked(t: &mut Trace) {
    t.owner("2026-02-23T10:00", ASK);
    t.candidate("2026-02-23T15:00", "Sounds interesting, tell me more.");
    t.owner("2026-02-24T10:00", "Great! Could you do a call on Friday?");
}

#[test]
fn follow_ups_and_closures_after_silence() {
    run(&[
        Case {
            name: "follow_up_1 five business days after a first contact",
            build: |t| {
                cold_question(t);
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "not yet due: planned with its future due, nothing held",
            build: |t| {
                cold_question(t);
                t.now("2026-03-06T16:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "follow_up_2 five business days after the first",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Sent, "2026-03-09T10:00");
                t.now("2026-03-16T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp2, "2026-03-16T10:00")),
            held: None,
        },
        Case {
            name: "follow-ups stay 5 business days apart when follow_up_after_days is 2",
            build: |t| {
                t.config.follow_up_after_days = 2;
                cold_question(t);
                t.row(FollowUp1, OutboxState::Sent, "2026-03-04T10:00");
                t.now("2026-03-06T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp2, "2026-03-11T10:00")),
            held: None,
        },
        Case {
            name: "a manual nudge by the owner restarts the timer but is no follow-up",
            build: |t| {
                cold_question(t);
                t.owner("2026-03-05T15:00", "PS: the role is fully remote.");
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-12T15:00")),
            held: None,
        },
        Case {
            name: "cold outreach: two follow-ups and no closure",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Sent, "2026-03-09T10:00");
                t.row(FollowUp2, OutboxState::Sent, "2026-03-16T10:00");
                t.now("2026-04-15T10:00");
            },
            state: AwaitingCandidate,
            planned: None,
            held: None,
        },
        Case {
            name: "closure after silence 7 business days after the last follow-up",
            build: |t| {
                replied_then_asked(t);
                t.row(FollowUp1, OutboxState::Sent, "2026-03-03T10:00");
                t.row(FollowUp2, OutboxState::Sent, "2026-03-10T10:00");
                t.now("2026-03-19T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((ClosureSilence, "2026-03-19T10:00")),
            held: None,
        },
        Case {
            name: "max_follow_ups = 1: the closure follows the first follow-up",
            build: |t| {
                t.config.max_follow_ups = 1;
                replied_then_asked(t);
                t.row(FollowUp1, OutboxState::Recorded, "2026-03-03T10:00");
                t.now("2026-03-12T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((ClosureSilence, "2026-03-12T10:00")),
            held: None,
        },
        Case {
            name: "a sent closure closes the conversation",
            build: |t| {
                replied_then_asked(t);
                t.row(FollowUp1, OutboxState::Sent, "2026-03-03T10:00");
                t.row(FollowUp2, OutboxState::Sent, "2026-03-10T10:00");
                t.row(ClosureSilence, OutboxState::Sent, "2026-03-19T10:00");
                t.now("2026-04-20T10:00");
            },
            state: Closed,
            planned: None,
            held: None,
        },
        Case {
            name: "a reply after the closure reopens the conversation for the owner",
            build: |t| {
                replied_then_asked(t);
                t.row(ClosureSilence, OutboxState::Sent, "2026-03-19T10:00");
                t.candidate("2026-03-20T10:00", "Sorry, I was travelling. Still keen!");
                t.now("2026-03-20T11:00");
            },
            state: AwaitingRecruiter,
            planned: None,
            held: None,
        },
        Case {
            name: "a drafted follow-up the owner sent counts; the next follows the sent draft",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Drafted, "2026-03-09T10:00");
                // The owner sends the draft, rewritten by the mail client: no X-Candor.
                t.owner(
                    "2026-03-09T14:00",
                    "Hi Ann, just checking in on my message below.",
                );
                t.now("2026-03-16T14:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp2, "2026-03-16T14:00")),
            held: None,
        },
        Case {
            name: "an own message seen in Sent counts even without an outbox row",
            build: |t| {
                cold_question(t);
                t.push(
                    Side::Owner,
                    Class::Own,
                    "2026-03-09T10:00",
                    "Just following up",
                );
                t.last_message().own_kind = Some(FollowUp1);
                t.now("2026-03-16T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp2, "2026-03-16T10:00")),
            held: None,
        },
        Case {
            name: "a cancelled follow-up is not planned again, nor followed by a second",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Cancelled, "2026-03-09T10:00");
                t.now("2026-03-16T10:00");
            },
            state: AwaitingCandidate,
            planned: None,
            held: None,
        },
        Case {
            name: "after a cancelled follow-up the owner writes again: the next one is planned",
            build: |t| {
                cold_question(t);
                t.row(FollowUp1, OutboxState::Cancelled, "2026-03-09T10:00");
                t.owner("2026-03-10T10:00", "Ann, would Thursday work for a call?");
                t.now("2026-03-17T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp2, "2026-03-17T10:00")),
            held: None,
        },
    ]);
}

#[test]
fn what_expects_an_answer_and_what_closes() {
    run(&[
        Case {
            name: "a statement after the candidate's reply expects no answer",
            build: |t| {
                t.candidate(
                    "2026-03-02T09:00",
                    "Hi, I saw your post and I'm interested.",
                );
                t.owner(
                    "2026-03-02T10:00",
                    "Thanks, I have passed your CV to the team.",
                );
                t.now("2026-03-20T10:00");
            },
            state: AwaitingCandidate,
            planned: None,
            held: None,
        },
        Case {
            name: "a German request without a question mark asks something",
            build: |t| {
                t.candidate("2026-03-02T09:00", "Hallo, die Stelle klingt spannend.");
                t.owner(
                    "2026-03-02T10:00",
                    "Kannst du mir bitte deinen Lebenslauf schicken.",
                );
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "a French request asks something",
            build: |t| {
                t.candidate("2026-03-02T09:00", "Bonjour, le poste m'intéresse.");
                t.owner(
                    "2026-03-02T10:00",
                    "Pourriez-vous m'envoyer vos disponibilités.",
                );
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "the owner's rejection is a closing: no follow-up",
            build: |t| {
                t.candidate("2026-03-02T09:00", "Any news about my application?");
                t.owner(
                    "2026-03-02T10:00",
                    "We decided to move forward with other candidates. Best of luck!",
                );
                t.now("2026-03-20T10:00");
            },
            state: AwaitingCandidate,
            planned: None,
            held: None,
        },
        Case {
            name: "an offer with its own deadline is a closing even when it asks",
            build: |t| {
                t.owner(
                    "2026-03-02T10:00",
                    "Would you accept? The offer expires on Friday 13 March.",
                );
                t.now("2026-03-20T10:00");
            },
            state: AwaitingCandidate,
            planned: None,
            held: None,
        },
        Case {
            name: "a configured closing phrase",
            build: |t| {
                t.config.closing_phrases = vec!["Keep your profile on file".to_string()];
                t.owner(
                    "2026-03-02T10:00",
                    "We will keep your profile on file. Could you confirm the address?",
                );
                t.now("2026-03-20T10:00");
            },
            state: AwaitingCandidate,
            planned: None,
            held: None,
        },
        Case {
            name: "activation horizon: a wait opened before the first sync sends nothing",
            build: |t| {
                cold_question(t);
                t.facts.first_sync_at = Some(t.at("2026-03-05T12:00"));
                t.now("2026-03-20T10:00");
            },
            state: AwaitingCandidate,
            planned: None,
            held: None,
        },
        Case {
            name: "activation horizon: act_on_existing acts on it",
            build: |t| {
                cold_question(t);
                t.facts.first_sync_at = Some(t.at("2026-03-05T12:00"));
                t.config.act_on_existing = true;
                t.now("2026-03-09T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T10:00")),
            held: None,
        },
        Case {
            name: "awaiting the owner: nothing automated",
            build: |t| {
                cold_question(t);
                t.candidate("2026-03-03T10:00", "Yes, happy to talk!");
                t.now("2026-03-20T10:00");
            },
            state: AwaitingRecruiter,
            planned: None,
            held: None,
        },
    ]);
}

#[test]
fn business_days_dst_holidays_and_send_window() {
    run(&[
        Case {
            name: "DST spring forward (2026-03-29): same local time, one hour less UTC",
            build: |t| {
                t.owner("2026-03-25T10:00", ASK);
                t.now("2026-04-01T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-04-01T10:00")),
            held: None,
        },
        Case {
            name: "DST fall back (2026-10-25): same local time",
            build: |t| {
                t.owner("2026-10-22T16:30", ASK);
                t.now("2026-10-29T16:30");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-10-29T16:30")),
            held: None,
        },
        Case {
            name: "Christmas holidays are skipped",
            build: |t| {
                t.owner("2026-12-18T11:00", ASK);
                t.now("2026-12-24T11:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-12-28T11:00")),
            held: None,
        },
        Case {
            name: "Easter (Good Friday, Easter Monday) is skipped",
            build: |t| {
                t.owner("2026-04-01T10:00", ASK);
                t.now("2026-04-02T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-04-10T10:00")),
            held: None,
        },
        Case {
            name: "a due time before send hours moves to the window start",
            build: |t| {
                t.owner("2026-03-02T07:30", ASK);
                t.now("2026-03-09T09:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T09:00")),
            held: None,
        },
        Case {
            name: "a Saturday message counts from Monday morning",
            build: |t| {
                t.owner("2026-03-07T20:00", ASK);
                t.now("2026-03-10T10:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-16T09:00")),
            held: None,
        },
        Case {
            name: "due, but now is after send hours: held by the window",
            build: |t| {
                t.owner("2026-03-02T16:45", ASK);
                t.now("2026-03-09T17:30");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-09T16:45")),
            held: Some(Gate::Window),
        },
        Case {
            name: "a custom send window 10:00-12:00",
            build: |t| {
                t.config.send_start_minute = 600;
                t.config.send_end_minute = 720;
                t.owner("2026-03-02T14:00", ASK);
                t.now("2026-03-09T14:00");
            },
            state: AwaitingCandidate,
            planned: Some((FollowUp1, "2026-03-10T10:00")),
            held: None,
        },
    ]);
}

/// Found in review: `candor plan` gave a second follow-up, due five business days after the
/// first, the reason "no answer 5 business days after the owner's message of" a date two weeks
/// before it: the reason names what the due time counts from.
#[test]
fn a_second_follow_up_gives_the_first_as_its_reason() {
    let reason = |build: fn(&mut Trace)| {
        let mut t = Trace::new();
        build(&mut t);
        let decision = t.decide();
        let planned = decision.planned.expect("a follow-up is planned");
        (planned.kind, t.local(planned.due), planned.reason)
    };
    let (kind, due, why) = reason(|t| {
        cold_question(t);
        t.row(FollowUp1, OutboxState::Sent, "2026-03-09T10:00");
        t.now("2026-03-16T10:00");
    });
    assert_eq!((kind, due.as_str()), (FollowUp2, "2026-03-16T10:00"));
    assert_eq!(
        why,
        "no answer 5 business days after the follow-up of 2026-03-09T09:00:00Z"
    );
    // The spacing of follow-ups, not follow_up_after_days, sets this one's due time.
    let (kind, due, why) = reason(|t| {
        t.config.follow_up_after_days = 2;
        cold_question(t);
        t.row(FollowUp1, OutboxState::Sent, "2026-03-04T10:00");
        t.now("2026-03-06T10:00");
    });
    assert_eq!((kind, due.as_str()), (FollowUp2, "2026-03-11T10:00"));
    assert_eq!(
        why,
        "no answer 5 business days after the follow-up of 2026-03-04T09:00:00Z (follow-ups stay 5 business days apart)"
    );
    // The first follow-up still counts from the owner's message.
    let (kind, _, why) = reason(|t| {
        cold_question(t);
        t.now("2026-03-09T10:00");
    });
    assert_eq!(kind, FollowUp1);
    assert_eq!(
        why,
        "no answer 5 business days after the owner's message of 2026-03-02T09:00:00Z"
    );
}
