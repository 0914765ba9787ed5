//! The plan against ground truth: the synthetic recruiting mailbox of `latency_truth`, synced
//! through the real Dovecot in `auto` mode with scope `all`, and every automated email candor
//! would send checked against what the generator knows: who is a candidate, who answered, who
//! bounced, who is away.
//!
//! Planned at a mid-way instant (only the mail delivered before it seeded), then a few days after
//! the last message and at three later instants; between those, the emails due are taken as
//! sent (outbox rows handed to the plan), so that follow-up 2 and the closure after silence are
//! planned too.
//!
//! Needs `../shared/tools/synth_recruiting_mailbox.py`; says so and checks nothing else when the
//! shared folder is absent.

use std::collections::BTreeMap;

use candor::plan::{self, AccountPlan};
use candor::policy::{Gate, Kind};
use candor::report::facts::AccountFacts;
use candor::store::outbox::{CandidateState, OutboxRow};
use jiff::Timestamp;
use jiff::civil::Date;

use crate::support::switch_mode;
use crate::synthetic::{Person, Synced, Synthetic, Truth, generate, generator, ids_by_key};

/// Every automated email to candidates in scope, mode auto, acting on waits older than the first
/// sync (the whole mailbox is older: it was all there at the first sync).
const EXTRA: &str = "
[account.scope]
mode = \"all\"

[account.policy]
act_on_existing = true
";

/// An email the plan would send: due or coming, and not held back for good.
struct WouldSend {
    conversation: usize,
    kind: Kind,
    due: Timestamp,
    reply_to: i64,
    recipient: String,
}

/// The emails of `plan` that go out unless a fact changes: those not held, and those held only
/// until a time (window, spacing, cap).
fn would_send(plan: &AccountPlan) -> Vec<WouldSend> {
    plan.verdicts
        .iter()
        .filter_map(|v| {
            let p = v.decision.planned.as_ref()?;
            let held_for_good = v.decision.held.as_ref().is_some_and(|h| {
                matches!(
                    h.gate,
                    Gate::Scope | Gate::State | Gate::Replied | Gate::List
                ) || h.retry_at.is_none()
            });
            if held_for_good {
                return None;
            }
            let conversation = &plan.account.conversations[v.conversation];
            Some(WouldSend {
                conversation: v.conversation,
                kind: p.kind,
                due: p.due,
                reply_to: p.reply_to,
                recipient: conversation.recipient(&plan.account.messages),
            })
        })
        .collect()
}

/// Truth as the mailbox held it at `cutoff` (delivered by then), and what candor made of it.
struct View<'a> {
    synthetic: &'a Synthetic,
    /// Delivered by the cutoff.
    truth: Vec<&'a Truth>,
    /// Message-IDs candor stored.
    stored_ids: std::collections::HashSet<String>,
}

impl<'a> View<'a> {
    fn new(synthetic: &'a Synthetic, cutoff: i64, facts: &AccountFacts) -> View<'a> {
        View {
            synthetic,
            truth: synthetic
                .truth
                .iter()
                .filter(|t| t.delivered_at <= cutoff)
                .collect(),
            stored_ids: ids_by_key(facts).into_values().collect(),
        }
    }

    /// The recruiter's latest human message with one of `person`'s addresses in its To.
    fn latest_to(&self, person: &Person) -> Option<&'a Truth> {
        let recruiter = self.synthetic.recruiter_id();
        self.truth
            .iter()
            .filter(|t| t.sender == recruiter && !t.auto)
            .filter(|t| t.to.iter().any(|a| person.addresses.contains(a)))
            .max_by_key(|t| t.sent_at)
            .copied()
    }

    /// The person's human messages sent after `since`.
    fn answers_after(&self, id: i64, since: i64) -> Vec<&'a Truth> {
        self.truth
            .iter()
            .filter(|t| t.sender == id && !t.auto && t.sent_at > since)
            .copied()
            .collect()
    }

    /// A candidate the recruiter wrote to who has not answered since.
    fn silent(&self, id: i64, person: &Person) -> bool {
        person.role == "candidate"
            && self
                .latest_to(person)
                .is_some_and(|latest| self.answers_after(id, latest.sent_at).is_empty())
    }

    /// Whether candor stored `t` (by its Message-ID as written).
    fn stored(&self, t: &Truth) -> bool {
        t.message_id
            .as_deref()
            .is_some_and(|id| self.stored_ids.contains(id))
    }

    /// A bounce of the mailbox in a generator conversation where the recruiter wrote to `person`.
    fn bounced(&self, person: &Person) -> Option<&'a Truth> {
        if !person.bounces {
            return None;
        }
        let recruiter = self.synthetic.recruiter_id();
        let written: std::collections::HashSet<i64> = self
            .truth
            .iter()
            .filter(|t| t.sender == recruiter && t.to.iter().any(|a| person.addresses.contains(a)))
            .map(|t| t.conversation)
            .collect();
        self.truth
            .iter()
            .find(|t| t.kind == "bounce" && written.contains(&t.conversation))
            .copied()
    }

    /// The person's out-of-office reply to `latest` (or later) and the end of the absence it
    /// announces.
    fn away(&self, id: i64, person: &Person, latest: &Truth) -> Option<(&'a Truth, i64)> {
        let reply = self
            .truth
            .iter()
            .filter(|t| t.sender == id && t.kind == "auto-reply" && t.sent_at >= latest.sent_at)
            .max_by_key(|t| t.sent_at)
            .copied()?;
        let end = person
            .out_of_office
            .iter()
            .find(|(start, end)| *start <= latest.sent_at && latest.sent_at <= *end)
            .map(|(_, end)| *end)?;
        Some((reply, end))
    }
}

fn row(t: &Truth) -> String {
    format!(
        "{} {} at {} ({}{})",
        t.kind,
        t.message_id.as_deref().unwrap_or("<no id>"),
        Timestamp::from_second(t.sent_at).unwrap(),
        t.file,
        if t.malformed.is_empty() {
            String::new()
        } else {
            format!(", malformed {:?}", t.malformed)
        }
    )
}

/// The first business-day start after the return date: SPEC §6 pauses until then. The auto-reply
/// names the date of the generator's UTC end; the pause ends on the next day at the earliest.
fn day_after(end: i64) -> Timestamp {
    let date: Date = Timestamp::from_second(end)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .date();
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    berlin
        .to_ambiguous_timestamp(
            date.tomorrow()
                .unwrap()
                .to_datetime(jiff::civil::Time::midnight()),
        )
        .compatible()
        .unwrap()
}

/// Checks every email of `plan` against truth; returns the violations.
fn check(
    synthetic: &Synthetic,
    view: &View,
    plan: &AccountPlan,
    emails: &[WouldSend],
    away_decided: &mut usize,
) -> Vec<String> {
    let id_of = ids_by_key(&plan.account);
    let mut violations = Vec::new();
    for email in emails {
        let conversation = &plan.account.conversations[email.conversation];
        let what = format!(
            "{} to {} (conversation of {}, due {})",
            email.kind.as_str(),
            email.recipient,
            conversation.address,
            email.due
        );
        // 1. A candidate, nobody else.
        let Some((id, person)) = synthetic.person_of(&email.recipient) else {
            violations.push(format!("{what}: the address is no person of people.json"));
            continue;
        };
        if person.role != "candidate" {
            violations.push(format!("{what}: a {}, not a candidate", person.role));
            continue;
        }
        let after_silence = !email.kind.is_decided_closure();
        // 2. Who has not answered (a closure the owner decided answers whoever wrote last, and
        // may close an applicant the recruiter never wrote to).
        let latest = view.latest_to(person);
        if after_silence {
            let Some(latest) = latest else {
                violations.push(format!(
                    "{what}: the recruiter never wrote to this candidate (To)"
                ));
                continue;
            };
            let answers = view.answers_after(id, latest.sent_at);
            // Exclusion: an answer candor never stored (a malformed message that the mail store
            // or candor's reader could not take) is not in the mailbox as candor sees it.
            let known: Vec<&&Truth> = answers
                .iter()
                .filter(|t| t.malformed.is_empty() || view.stored(t))
                .collect();
            if !known.is_empty() {
                violations.push(format!(
                    "{what}: the candidate answered the recruiter's {}: {}",
                    row(latest),
                    known.iter().map(|t| row(t)).collect::<Vec<_>>().join("; ")
                ));
                continue;
            }
        }
        // 3. In reply to the candidate's conversation; not bounced; not away.
        let answered = id_of.get(&email.reply_to).map(String::as_str);
        let answered_rows: Vec<&&Truth> = view
            .truth
            .iter()
            .filter(|t| t.message_id.as_deref().is_some_and(|m| Some(m) == answered))
            .collect();
        let of_candidate =
            |t: &Truth| t.sender == id || t.addresses.iter().any(|a| person.addresses.contains(a));
        let rows = || {
            answered_rows
                .iter()
                .map(|t| row(t))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if answered_rows.is_empty() {
            violations.push(format!(
                "{what}: In-Reply-To {answered:?} is no message of truth"
            ));
        } else if !answered_rows.iter().any(|t| of_candidate(t)) {
            violations.push(format!(
                "{what}: In-Reply-To a message not of the candidate's: {}",
                rows()
            ));
        } else if after_silence {
            let recruiter = synthetic.recruiter_id();
            if !answered_rows.iter().any(|t| {
                t.sender == recruiter
                    && !t.auto
                    && t.to.iter().any(|a| person.addresses.contains(a))
            }) {
                violations.push(format!(
                    "{what}: follows up a message that is not the recruiter's own to the candidate: {}",
                    rows()
                ));
            }
        }
        if let Some(bounce) = view.bounced(person) {
            violations.push(format!(
                "{what}: mail to this candidate hard-bounced: {}",
                row(bounce)
            ));
        }
        if let Some((reply, end)) = latest.and_then(|l| view.away(id, person, l)) {
            let back = day_after(end);
            // SPEC §6 pauses the follow-ups of a wait answered by an out-of-office reply; the
            // policy lets a closure the owner decided go (counted and printed, not asserted).
            if email.due < back && !after_silence {
                *away_decided += 1;
            } else if email.due < back {
                violations.push(format!(
                    "{what}: out of office until {} ({}), due before {back}",
                    Timestamp::from_second(end).unwrap(),
                    row(reply)
                ));
            }
        }
    }
    violations
}

/// Negative controls: emails candor did not plan, made up to break each rule once, must each be
/// reported by [`check`] (else the checks, not candor, would be what passes). Returns the
/// controls this instant had someone for; each must be caught.
fn controls_are_caught(
    synthetic: &Synthetic,
    view: &View,
    plan: &AccountPlan,
    now: Timestamp,
) -> Vec<&'static str> {
    let made_up = |index: usize, due: Timestamp| {
        let c = &plan.account.conversations[index];
        let reply_to = c
            .messages
            .iter()
            .map(|&i| &plan.account.messages[i])
            .rev()
            .find(|m| plan.account.identity.is_owner(&m.from))
            .map_or(0, |m| m.key);
        WouldSend {
            conversation: index,
            kind: Kind::FollowUp1,
            due,
            reply_to,
            recipient: c.address.clone(),
        }
    };
    let person = |index: usize| synthetic.person_of(&plan.account.conversations[index].address);
    let indices = 0..plan.account.conversations.len();
    let manager = indices
        .clone()
        .find(|&i| person(i).is_some_and(|(_, p)| p.role == "hiring-manager"));
    let answered = indices.clone().find(|&i| {
        person(i).is_some_and(|(id, p)| {
            p.role == "candidate" && view.latest_to(p).is_some() && !view.silent(id, p)
        })
    });
    let bounced = indices
        .clone()
        .find(|&i| person(i).is_some_and(|(_, p)| view.bounced(p).is_some()));
    let away = indices.clone().find_map(|i| {
        let (id, p) = person(i)?;
        let latest = view.latest_to(p)?;
        view.silent(id, p)
            .then(|| view.away(id, p, latest))
            .flatten()
            .map(|(reply, _)| (i, Timestamp::from_second(reply.sent_at).unwrap()))
    });
    let mut caught = Vec::new();
    for (name, control, needle) in [
        (
            "a hiring manager",
            manager.map(|i| made_up(i, now)),
            "not a candidate",
        ),
        (
            "a candidate who answered",
            answered.map(|i| made_up(i, now)),
            "answered",
        ),
        (
            "a bounced candidate",
            bounced.map(|i| made_up(i, now)),
            "hard-bounced",
        ),
        (
            "a candidate away",
            away.map(|(i, at)| made_up(i, at)),
            "out of office",
        ),
    ] {
        let Some(control) = control else {
            continue;
        };
        let found = check(synthetic, view, plan, &[control], &mut 0);
        assert!(
            found.iter().any(|v| v.contains(needle)),
            "the checks let a follow-up to {name} pass: {found:?}"
        );
        caught.push(name);
    }
    caught
}

/// One planning instant's figures, for the table.
struct Figures {
    label: &'static str,
    now: Timestamp,
    by_kind: BTreeMap<&'static str, usize>,
    silent_in_truth: usize,
    candor_plans_for: usize,
    /// Decided closures due while truth has the candidate away (allowed, see `check`).
    away_decided: usize,
    /// The negative controls this instant had someone for (all caught).
    controls: Vec<&'static str>,
    violations: Vec<String>,
}

/// Plans at `now` with the outbox rows of the emails taken as sent so far, checks, and returns
/// the emails due now (to be taken as sent before the next instant).
fn plan_and_check(
    synthetic: &Synthetic,
    synced: &Synced,
    cutoff: i64,
    now: Timestamp,
    rows: &[OutboxRow],
    decided_at: Option<Timestamp>,
    label: &'static str,
) -> (Figures, Vec<OutboxRow>) {
    let facts = synced.load(&synced.account);
    let view = View::new(synthetic, cutoff, &facts);
    let mut extra = plan::load_extra(&synced.store(), &synced.account).unwrap();
    extra.rows.extend(rows.iter().cloned());
    if let Some(at) = decided_at {
        // The owner closes every candidate as not selected (`candidate close`).
        for c in &facts.conversations {
            if synthetic
                .person_of(&c.address)
                .is_some_and(|(_, p)| p.role == "candidate")
            {
                extra.states.insert(
                    c.address.clone(),
                    CandidateState {
                        decided: Some("not_selected".to_owned()),
                        decided_at: Some(at.as_second()),
                        ..CandidateState::default()
                    },
                );
            }
        }
    }
    let plan = plan::plan_facts(&synced.account, facts, extra, now);
    assert_eq!(plan.mode_name, "auto");
    let emails = would_send(&plan);
    let mut away_decided = 0;
    let violations = check(synthetic, &view, &plan, &emails, &mut away_decided);
    let controls = controls_are_caught(synthetic, &view, &plan, now);
    let mut by_kind: BTreeMap<&'static str, usize> = BTreeMap::new();
    for e in &emails {
        *by_kind.entry(e.kind.as_str()).or_default() += 1;
    }
    let silent_in_truth = synthetic
        .people
        .iter()
        .filter(|(id, p)| view.silent(**id, p))
        .count();
    let recipients: std::collections::BTreeSet<&str> =
        emails.iter().map(|e| e.recipient.as_str()).collect();
    // The emails due now and not held, as the outbox would send them at `now`.
    let sent = plan
        .verdicts
        .iter()
        .filter(|v| v.decision.held.is_none())
        .filter_map(|v| {
            let p = v.decision.planned.as_ref().filter(|p| p.due <= now)?;
            let conversation = &plan.account.conversations[v.conversation];
            Some(OutboxRow {
                account: synced.account.name.clone(),
                candidate: conversation.address.clone(),
                recipient: conversation.recipient(&plan.account.messages),
                kind: p.kind.as_str().to_owned(),
                state: "sent".to_owned(),
                reply_to: Some(p.reply_to),
                due: p.due.as_second(),
                created_at: now.as_second(),
                done_at: Some(now.as_second()),
                ..OutboxRow::default()
            })
        })
        .collect();
    let figures = Figures {
        label,
        now,
        by_kind,
        silent_in_truth,
        candor_plans_for: recipients.len(),
        away_decided,
        controls,
        violations,
    };
    (figures, sent)
}

/// 10:00 in Berlin on the first Wednesday at least `days` after `t`.
fn wednesday_morning_after(t: i64, days: i64) -> Timestamp {
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let mut date = Timestamp::from_second(t + days * 86_400)
        .unwrap()
        .to_zoned_datetime(berlin.clone())
        .date();
    while date.weekday() != jiff::civil::Weekday::Wednesday {
        date = date.tomorrow().unwrap();
    }
    berlin
        .to_ambiguous_timestamp(date.at(10, 0, 0, 0))
        .compatible()
        .unwrap()
}

#[test]
fn the_plan_sends_only_to_silent_candidates_on_a_synthetic_mailbox() {
    let Some(script) = generator() else {
        println!("SKIPPED: ../shared/tools/synth_recruiting_mailbox.py is absent");
        return;
    };
    let synthetic = generate(&script);
    let mut synced = crate::synthetic::start(&synthetic, EXTRA);
    switch_mode(&synced.config, "dry-run", "auto");
    synced.account = candor::config::load(&synced.config.path).unwrap().accounts[0].clone();

    let mut delivered: Vec<i64> = synthetic.truth.iter().map(|t| t.delivered_at).collect();
    delivered.sort_unstable();
    let last = *delivered.last().unwrap();
    // Mid-way: the mailbox as it was on a Wednesday morning half-way through.
    let mid = wednesday_morning_after(delivered[delivered.len() / 2], 0);
    synced.seed_and_sync(synthetic.seeds_where(|t| t.delivered_at <= mid.as_second()));
    let mut figures = Vec::new();
    let (mid_figures, _) = plan_and_check(
        &synthetic,
        &synced,
        mid.as_second(),
        mid,
        &[],
        None,
        "mid-way",
    );
    figures.push(mid_figures);

    // Then the rest, and a few days after the last message; the emails due then are taken as
    // sent, and the plan asked again two, four and six weeks later.
    synced.seed_and_sync(synthetic.seeds_where(|t| t.delivered_at > mid.as_second()));
    let end = wednesday_morning_after(last, 3);
    let mut rows: Vec<OutboxRow> = Vec::new();
    for (weeks, label) in [(0, "end"), (2, "end+2w"), (4, "end+4w"), (6, "end+6w")] {
        let now = end
            .checked_add(jiff::SignedDuration::from_hours(24 * 7 * weeks))
            .unwrap();
        let (f, sent) = plan_and_check(&synthetic, &synced, last, now, &rows, None, label);
        figures.push(f);
        rows.extend(sent);
    }
    // The owner closes every candidate at the end; the closures go after the cancel window.
    let friday = end
        .checked_add(jiff::SignedDuration::from_hours(48))
        .unwrap();
    let (f, _) = plan_and_check(&synthetic, &synced, last, friday, &[], Some(end), "decided");
    figures.push(f);

    eprintln!(
        "{:<8} {:<22} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7} {:>6}",
        "instant", "now", "fu1", "fu2", "clos", "decided", "silent", "candor", "bad"
    );
    for f in &figures {
        let n = |k: Kind| f.by_kind.get(k.as_str()).copied().unwrap_or(0);
        let decided: usize = Kind::ALL
            .iter()
            .filter(|k| k.is_decided_closure())
            .map(|k| n(*k))
            .sum();
        eprintln!(
            "{:<8} {:<22} {:>5} {:>5} {:>5} {:>7} {:>7} {:>7} {:>6}",
            f.label,
            f.now.to_string(),
            n(Kind::FollowUp1),
            n(Kind::FollowUp2),
            n(Kind::ClosureSilence),
            decided,
            f.silent_in_truth,
            f.candor_plans_for,
            f.violations.len()
        );
    }
    eprintln!(
        "(fu1/fu2/clos/decided: emails planned by kind, clos after silence, decided the owner's \
         closures; silent: candidates truth says have not answered \
         the recruiter's latest message to them; candor: distinct recipients candor plans for; \
         bad: violations)"
    );
    let away_decided: usize = figures.iter().map(|f| f.away_decided).sum();
    eprintln!(
        "decided closures due while truth has the candidate out of office: {away_decided} \
         (the owner's decision is not deferred by the policy)"
    );
    let controls: std::collections::BTreeSet<&str> = figures
        .iter()
        .flat_map(|f| f.controls.iter().copied())
        .collect();
    eprintln!("negative controls caught by the checks: {controls:?}");
    assert_eq!(
        controls.len(),
        4,
        "a negative control had nobody: {controls:?}"
    );
    let violations: Vec<String> = figures
        .iter()
        .flat_map(|f| {
            f.violations
                .iter()
                .map(move |v| format!("[{}] {v}", f.label))
        })
        .collect();
    for v in violations.iter().take(40) {
        eprintln!("  violation: {v}");
    }
    let total = |kind: Kind| {
        figures
            .iter()
            .map(|f| f.by_kind.get(kind.as_str()).copied().unwrap_or(0))
            .sum::<usize>()
    };
    assert!(
        total(Kind::FollowUp1) > 10,
        "too few follow-ups planned: the test checks next to nothing"
    );
    assert!(
        total(Kind::FollowUp2) > 0
            && total(Kind::ClosureSilence) > 0
            && total(Kind::ClosureNotSelected) > 0,
        "follow-up 2, the closure after silence or a decided closure was never planned"
    );
    assert!(violations.is_empty(), "{} violations", violations.len());
}
