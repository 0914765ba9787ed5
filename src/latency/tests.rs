//! Latency as data: event lists in, waits out.

use super::*;
use Direction::*;
use Side::*;

const DAY: i64 = 86_400;
const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn ts(offset_s: i64) -> Timestamp {
    Timestamp::from_second(T0 + offset_s).expect("test time in range")
}

/// (key, seconds after T0, side, human)
fn events(list: &[(i64, i64, Side, bool)]) -> Vec<Event> {
    list.iter()
        .map(|&(key, at, side, human)| Event {
            key,
            time: ts(at),
            side,
            human,
            answers: None,
            opens: true,
        })
        .collect()
}

#[test]
fn a_reply_to_the_owners_nudge_is_measured_from_the_nudge() {
    let mut list = events(&[
        (1, 0, Side::Owner, true),
        (2, 86_400, Side::Owner, true),
        (3, 90_000, Side::Candidate, true),
    ]);
    list[2].answers = Some(2);
    let w = waits(&list);
    assert_eq!(
        w[0].opened_by, 1,
        "the wait still opened at the first message"
    );
    assert_eq!(
        w[0].latency_s,
        Some(3_600),
        "measured from the message answered"
    );
    // Without the In-Reply-To, from the first unanswered message (SPEC §5).
    list[2].answers = None;
    assert_eq!(waits(&list)[0].latency_s, Some(90_000));
}

/// Compact event: (key, seconds after T0, side, human).
type E = (i64, i64, Side, bool);

/// Compact wait: (direction, opened_by, closed_by, latency).
type W = (Direction, i64, Option<i64>, Option<i64>);

fn compact(waits: &[Wait]) -> Vec<W> {
    waits
        .iter()
        .map(|w| (w.direction, w.opened_by, w.closed_by, w.latency_s))
        .collect()
}

#[test]
fn waits_table() {
    let cases: Vec<(&str, Vec<E>, Vec<W>)> = vec![
        ("no events", vec![], vec![]),
        (
            "one open wait",
            vec![(1, 0, Owner, true)],
            vec![(CandidateReply, 1, None, None)],
        ),
        (
            "ping pong",
            vec![
                (1, 0, Owner, true),
                (2, 100, Candidate, true),
                (3, 250, Owner, true),
            ],
            vec![
                (CandidateReply, 1, Some(2), Some(100)),
                (RecruiterReply, 2, Some(3), Some(150)),
                (CandidateReply, 3, None, None),
            ],
        ),
        (
            "a follow-up keeps the first open",
            vec![
                (1, 0, Owner, true),
                (2, 5 * DAY, Owner, true),
                (3, 6 * DAY, Candidate, true),
            ],
            vec![
                (CandidateReply, 1, Some(3), Some(6 * DAY)),
                (RecruiterReply, 3, None, None),
            ],
        ),
        (
            "any order in, sorted by time then key",
            vec![
                (3, 200, Owner, true),
                (2, 100, Candidate, true),
                (1, 100, Owner, true),
            ],
            vec![
                (CandidateReply, 1, Some(2), Some(0)),
                (RecruiterReply, 2, Some(3), Some(100)),
                (CandidateReply, 3, None, None),
            ],
        ),
        (
            "non-human messages neither open nor close",
            vec![
                (1, 0, Candidate, false),
                (2, 10, Owner, true),
                (3, 20, Candidate, false),
            ],
            vec![(CandidateReply, 2, None, None)],
        ),
        (
            "a colleague does not close the owner's wait",
            vec![
                (1, 0, Candidate, true),
                (2, 10, Other, true),
                (3, 30, Owner, true),
            ],
            vec![
                (RecruiterReply, 1, Some(3), Some(30)),
                (CandidateReply, 3, None, None),
            ],
        ),
        (
            "re-contact after 45 days drops the wait",
            vec![(1, 0, Owner, true), (2, 46 * DAY, Candidate, true)],
            vec![(RecruiterReply, 2, None, None)],
        ),
        (
            "exactly 45 days is still a latency",
            vec![(1, 0, Owner, true), (2, 45 * DAY, Candidate, true)],
            vec![
                (CandidateReply, 1, Some(2), Some(45 * DAY)),
                (RecruiterReply, 2, None, None),
            ],
        ),
        (
            "a late follow-up re-opens as a new wait",
            vec![
                (1, 0, Owner, true),
                (2, 50 * DAY, Owner, true),
                (3, 51 * DAY, Candidate, true),
            ],
            vec![
                (CandidateReply, 2, Some(3), Some(DAY)),
                (RecruiterReply, 3, None, None),
            ],
        ),
        (
            "follow-ups do not stretch the 45 days",
            vec![
                (1, 0, Owner, true),
                (2, 30 * DAY, Owner, true),
                (3, 50 * DAY, Candidate, true),
            ],
            vec![(RecruiterReply, 3, None, None)],
        ),
    ];
    for (name, input, want) in cases {
        assert_eq!(compact(&waits(&events(&input))), want, "{name}");
    }
}

#[test]
fn wait_times_are_reported() {
    let got = waits(&events(&[(7, 0, Candidate, true), (8, 3600, Owner, true)]));
    assert_eq!(got[0].opened_at, ts(0));
    assert_eq!(got[0].closed_at, Some(ts(3600)));
    assert_eq!(got[1].opened_at, ts(3600));
    assert_eq!(RecruiterReply.as_str(), "recruiter_reply");
    assert_eq!(CandidateReply.as_str(), "candidate_reply");
}

#[test]
fn summaries() {
    let s = |n: usize, median: Option<i64>, p90: Option<i64>| Summary {
        n,
        median_s: median,
        p90_s: p90,
    };
    let cases: Vec<(&[i64], Summary)> = vec![
        (&[], s(0, None, None)),
        (&[5], s(1, Some(5), Some(5))),
        (&[1, 2], s(2, Some(2), Some(2))),
        (&[2, 1, 3], s(3, Some(2), Some(3))),
        (&[10, 20, 30, 40], s(4, Some(25), Some(40))),
        (&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], s(10, Some(6), Some(9))),
        (
            &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
            s(11, Some(6), Some(10)),
        ),
        (&[-3, -2], s(2, Some(-2), Some(-2))),
        (&[i64::MAX, i64::MAX], s(2, Some(i64::MAX), Some(i64::MAX))),
    ];
    for (input, want) in cases {
        assert_eq!(summarize(input), want, "{input:?}");
    }
}

/// A calendar client's acceptance ("Accepted: Interview") answers the owner's invitation and
/// asks nothing: the candidate's wait closes there and none opens on the owner, whose latency
/// and "awaiting your reply" it would otherwise count until the owner's next message, days
/// later (the synthetic mailbox's invite responses). The owner's next message opens a wait as
/// usual; an acceptance inside the candidate's own open run changes nothing.
#[test]
fn an_acceptance_closes_a_wait_and_opens_none() {
    let mut list = events(&[
        (1, 0, Owner, true),
        (2, 3_600, Candidate, true),
        (3, 5 * DAY, Owner, true),
    ]);
    list[1].opens = false;
    assert_eq!(
        compact(&waits(&list)),
        vec![
            (CandidateReply, 1, Some(2), Some(3_600)),
            (CandidateReply, 3, None, None),
        ]
    );
    assert_eq!(
        compact(&waits(&list[..2])),
        vec![(CandidateReply, 1, Some(2), Some(3_600))],
        "nobody waits after the acceptance"
    );

    let mut list = events(&[
        (1, 0, Candidate, true),
        (2, 600, Candidate, true),
        (3, DAY, Owner, true),
    ]);
    list[1].opens = false;
    assert_eq!(
        compact(&waits(&list)),
        vec![
            (RecruiterReply, 1, Some(3), Some(DAY)),
            (CandidateReply, 3, None, None),
        ]
    );
}
