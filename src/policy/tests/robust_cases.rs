//! Random conversations, extreme instants and odd calendars: `decide` and `gates` never panic
//! and agree with each other.

use super::*;
use jiff::SignedDuration;
use jiff::civil::Date;

/// A small deterministic generator (xorshift64*): reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let index = usize::try_from(self.below(items.len() as u64)).expect("small index");
        &items[index]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const TEXTS: &[&str] = &[
    "Would you be open to a call?",
    "Could you send your CV?",
    "Sure, happy to talk.",
    "Thanks, noted.",
    "Not right now.",
    "Please stop emailing me.",
    "Good luck!",
    "",
    "¿Podrías?",
    "ünïcödé ✓ ’quotes’ — dashes",
];

/// An instant near March 2026, or now and then one at the ends of time.
fn instant(rng: &mut Rng) -> Timestamp {
    if rng.chance(2) {
        return *rng.pick(&[Timestamp::MIN, Timestamp::MAX]);
    }
    let base: i64 = 1_772_400_000; // 2026-03-01
    let offset = i64::try_from(rng.below(20 * 86_400)).expect("small offset");
    Timestamp::from_second(base + offset).expect("in range")
}

fn random_trace(rng: &mut Rng) -> Trace {
    let mut t = Trace::new();
    if rng.chance(4) {
        t.cal.business_days.clear();
    }
    if rng.chance(10) {
        t.config.send_start_minute = 1000;
        t.config.send_end_minute = 10;
    }
    t.config.max_follow_ups = u32::try_from(rng.below(4)).expect("small");
    t.config.cancel_window_hours = *rng.pick(&[0, 24, u32::MAX]);
    t.config.follow_up_after_days = *rng.pick(&[0, 5, u32::MAX]);
    t.config.mode = *rng.pick(&[Mode::Auto, Mode::Drafts, Mode::DryRun]);
    t.facts.account_sent_today = *rng.pick(&[0, 49, 50]);
    t.facts.in_scope = rng.chance(90);
    let sides = [Side::Owner, Side::Candidate, Side::Other];
    for _ in 0..rng.below(8) {
        let key = t.next_key;
        t.next_key += 1;
        t.facts.messages.push(FactMessage {
            key,
            time: instant(rng),
            side: *rng.pick(&sides),
            class: if rng.chance(70) {
                Class::Human
            } else {
                *rng.pick(&Class::ALL)
            },
            new_text: rng.pick(TEXTS).to_string(),
            subject: String::new(),
            ooo_until: rng
                .chance(30)
                .then(|| *rng.pick(&[Date::MIN, Date::MAX, Date::constant(2026, 3, 20)])),
            hard_bounce: rng.chance(10),
            list_thread: rng.chance(10),
            own_kind: rng.chance(30).then(|| *rng.pick(&Kind::ALL)),
            thread: 1,
            cc_only: rng.chance(10),
        });
    }
    for _ in 0..rng.below(2) {
        let created_at = instant(rng);
        t.facts.automated.push(SentRecord {
            kind: *rng.pick(&Kind::ALL),
            state: *rng.pick(&OutboxState::ALL),
            created_at,
            sent_at: rng.chance(50).then_some(created_at),
            reply_to: i64::try_from(rng.below(8)).expect("small"),
        });
    }
    let owner = &mut t.facts.owner;
    owner.decided = rng.chance(20).then(|| (Outcome::Withdrawn, instant(rng)));
    owner.paused_at = rng.chance(20).then(|| instant(rng));
    owner.paused_until = rng.chance(20).then(|| Date::constant(2026, 3, 20));
    owner.resumed_at = rng.chance(20).then(|| instant(rng));
    owner.hold_folder_at = rng.chance(5).then(|| instant(rng));
    if rng.chance(15) {
        t.facts.first_sync_at = rng.chance(50).then(|| instant(rng));
    }
    t.facts.last_digest_at = rng.chance(50).then(|| instant(rng));
    t.facts.recipient_last_automated_at = rng.chance(30).then(|| instant(rng));
    // Mostly after the conversation, when emails fall due.
    let later = SignedDuration::from_hours(i64::try_from(rng.below(40 * 24)).expect("small"));
    t.now = instant(rng).checked_add(later).unwrap_or(Timestamp::MAX);
    t
}

#[test]
fn random_conversations_keep_the_invariants() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut sent_now = 0;
    for round in 0..4000 {
        let t = random_trace(&mut rng);
        let d = t.decide();
        let context = format!("round {round}: {d:?}");
        if let Some(deadline) = d.next_deadline {
            assert!(deadline > t.now, "deadline in the future: {context}");
        }
        assert_eq!(d.state == State::Closed, d.closure.is_some(), "{context}");
        if let Some(planned) = &d.planned {
            if planned.kind.is_follow_up() || planned.kind == Kind::ClosureSilence {
                assert!(
                    matches!(d.state, State::AwaitingCandidate | State::Paused),
                    "{context}"
                );
            }
            // decide and the re-check agree on a due email.
            if planned.due <= t.now {
                let verdict = gates(&t.facts, &t.config, &t.cal, planned, t.now).err();
                assert_eq!(verdict, d.held, "{context}");
                if verdict.is_none() {
                    sent_now += 1;
                }
            }
        }
    }
    // The generator must reach the interesting case, or the agreement check proves nothing.
    assert!(sent_now > 0, "no random trace had a sendable email");
    eprintln!("{sent_now} random traces had an email to send now");
}
