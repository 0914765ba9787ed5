//! Policy traces as data: a small builder of conversation events, then tables of
//! (events, now) → expected (state, planned kind and local due time, held gate).
//!
//! Times are local civil times in Europe/Berlin ("2026-03-02T10:00"); weekdays used below:
//! 2026-03-02, 03-09, 03-16, 03-23 are Mondays; 03-29 and 10-25 are the DST Sundays.

mod cases;
mod gate_cases;
mod phrase_cases;
mod robust_cases;
mod state_cases;

use jiff::Timestamp;
use jiff::civil::{DateTime, Weekday};
use jiff::tz::TimeZone;

use super::*;
use crate::calendar::BusinessCalendar;

/// One conversation being built, with its account and the instant of the decision.
struct Trace {
    cal: BusinessCalendar,
    config: PolicyConfig,
    facts: Facts,
    now: Timestamp,
    next_key: i64,
}

impl Trace {
    fn new() -> Trace {
        use Weekday::*;
        let cal = BusinessCalendar {
            tz: TimeZone::get("Europe/Berlin").expect("zone in the bundled tzdb"),
            business_days: vec![Monday, Tuesday, Wednesday, Thursday, Friday],
            work_start_minute: 9 * 60,
            work_end_minute: 17 * 60,
            holidays: ["2026-04-03", "2026-04-06", "2026-12-25", "2026-12-26"]
                .iter()
                .map(|d| d.parse().expect("test date"))
                .collect(),
        };
        let facts = Facts {
            candidate: "ann@example.net".to_string(),
            in_scope: true,
            excluded: false,
            role_or_null: false,
            messages: Vec::new(),
            automated: Vec::new(),
            owner: OwnerDecisions::default(),
            first_sync_at: Some("2026-01-01T00:00:00Z".parse().expect("test instant")),
            last_digest_at: None,
            recipient_last_automated_at: None,
            account_sent_today: 0,
            account_last_sent_at: None,
        };
        Trace {
            cal,
            config: PolicyConfig::defaults(),
            facts,
            now: Timestamp::UNIX_EPOCH,
            next_key: 1,
        }
    }

    /// A local Berlin time as an instant.
    fn at(&self, local: &str) -> Timestamp {
        let civil: DateTime = local.parse().expect("test datetime");
        self.cal
            .tz
            .to_timestamp(civil)
            .expect("test datetime in range")
    }

    fn local(&self, t: Timestamp) -> String {
        self.cal
            .tz
            .to_datetime(t)
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    }

    fn push(&mut self, side: Side, class: Class, at: &str, text: &str) -> i64 {
        let key = self.next_key;
        self.next_key += 1;
        let time = self.at(at);
        self.facts.messages.push(FactMessage {
            key,
            time,
            side,
            class,
            new_text: text.to_string(),
            subject: "Senior engineer role".to_string(),
            ooo_until: None,
            hard_bounce: false,
            list_thread: false,
            own_kind: None,
            thread: 1,
            cc_only: false,
        });
        key
    }

    fn owner(&mut self, at: &str, text: &str) -> i64 {
        self.push(Side::Owner, Class::Human, at, text)
    }

    fn candidate(&mut self, at: &str, text: &str) -> i64 {
        self.push(Side::Candidate, Class::Human, at, text)
    }

    fn other(&mut self, at: &str, text: &str) -> i64 {
        self.push(Side::Other, Class::Human, at, text)
    }

    /// An out-of-office reply whose return date ingest found with `mail::ooo_return_date`.
    fn ooo(&mut self, at: &str, subject: &str, text: &str) -> i64 {
        let sent_on = self.cal.tz.to_datetime(self.at(at)).date();
        let until = crate::mail::ooo_return_date(subject, text, sent_on);
        let key = self.push(Side::Candidate, Class::AutoReply, at, text);
        self.last_message().ooo_until = until;
        key
    }

    fn hard_bounce(&mut self, at: &str) -> i64 {
        let key = self.push(Side::Other, Class::Bounce, at, "");
        self.last_message().hard_bounce = true;
        key
    }

    fn last_message(&mut self) -> &mut FactMessage {
        self.facts
            .messages
            .last_mut()
            .expect("a message was just pushed")
    }

    /// An outbox row answering the latest owner message before `at`.
    fn row(&mut self, kind: Kind, state: OutboxState, at: &str) {
        let created_at = self.at(at);
        let reply_to = self
            .facts
            .messages
            .iter()
            .filter(|m| m.side == Side::Owner && m.class == Class::Human && m.time <= created_at)
            .max_by_key(|m| (m.time, m.key))
            .map_or(0, |m| m.key);
        let sent_at = (state == OutboxState::Sent).then_some(created_at);
        self.facts.automated.push(SentRecord {
            kind,
            state,
            created_at,
            sent_at,
            reply_to,
        });
    }

    fn now(&mut self, at: &str) {
        self.now = self.at(at);
    }

    fn decide(&self) -> Decision {
        decide(&self.facts, &self.config, &self.cal, self.now)
    }
}

/// One trace and what the policy must say about it.
struct Case {
    name: &'static str,
    build: fn(&mut Trace),
    state: State,
    /// The planned kind and its due time, local.
    planned: Option<(Kind, &'static str)>,
    held: Option<Gate>,
}

/// Runs every case and reports all mismatches at once, by name.
fn run(cases: &[Case]) {
    let mut failures = Vec::new();
    for case in cases {
        let mut trace = Trace::new();
        (case.build)(&mut trace);
        let decision = trace.decide();
        let planned = decision
            .planned
            .as_ref()
            .map(|p| (p.kind, trace.local(p.due)));
        let expected = case.planned.map(|(k, due)| (k, due.to_string()));
        let held = decision.held.as_ref().map(|h| h.gate);
        if decision.state != case.state || planned != expected || held != case.held {
            failures.push(format!(
                "{}: got state {:?}, planned {:?}, held {:?} (notes {:?}); want {:?}, {:?}, {:?}",
                case.name,
                decision.state,
                planned,
                decision.held,
                decision.notes,
                case.state,
                expected,
                case.held
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
