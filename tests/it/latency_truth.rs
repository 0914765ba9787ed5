//! Latency against ground truth (issue 5): a synthetic recruiting mailbox whose generator knows
//! who answered whom and when, synced through the real Dovecot, then compared wait by wait.
//!
//! Needs `../shared/tools/synth_recruiting_mailbox.py`; says so and checks nothing else when the
//! shared folder is absent.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use candor::conversations::Conversation;

use crate::synthetic::{Synced, Synthetic, Truth, generate, generator, ids_by_key};

/// A truth reply whose latency candor must reproduce.
struct Selected<'a> {
    reply: &'a Truth,
    latency_s: i64,
}

/// Replies the rule selects but whose truth latency is not a wait of SPEC §5; each is
/// counted and printed with its reason.
const PARENT_NOT_TO_CANDIDATE: &str = "the candidate 'answers' a note the owner wrote to herself \
    (generator: a reply addressed to the previous sender, who was the owner): the candidate never \
    got it, so the wait runs from the owner's last message to the candidate";
const OTHER_THREAD_BETWEEN: &str = "a human message with the same candidate in another thread \
    lies between parent and reply: SPEC §2 makes the conversation all threads with the candidate, \
    so that message closed or extended the wait";

/// The replies the issue names: owner↔candidate, parent present, neither malformed nor a
/// duplicate, no other human message of the conversation between them, gap ≤ 45 days.
fn select(synthetic: &Synthetic) -> (Vec<Selected<'_>>, BTreeMap<&'static str, usize>) {
    let originals: HashMap<&str, &Truth> = synthetic
        .truth
        .iter()
        .filter(|t| !t.duplicate)
        .filter_map(|t| t.message_id.as_deref().map(|id| (id, t)))
        .collect();
    let humans: Vec<&Truth> = synthetic
        .truth
        .iter()
        .filter(|t| !t.duplicate && !t.auto)
        .collect();
    let mut out = Vec::new();
    let mut excluded: BTreeMap<&'static str, usize> = BTreeMap::new();
    for reply in &synthetic.truth {
        if reply.duplicate || !reply.malformed.is_empty() || reply.auto || !reply.parent_present {
            continue;
        }
        let (Some(parent_id), Some(latency_s)) = (&reply.parent, reply.latency_s) else {
            continue;
        };
        let Some(parent) = originals.get(parent_id.as_str()) else {
            continue;
        };
        if !parent.malformed.is_empty() || parent.auto {
            continue;
        }
        let candidate = match (synthetic.role(parent.sender), synthetic.role(reply.sender)) {
            ("recruiter", "candidate") => reply.sender,
            ("candidate", "recruiter") => parent.sender,
            _ => continue,
        };
        if latency_s > candor::latency::RECONTACT_AFTER_S {
            continue;
        }
        let between = |t: &&&Truth| t.sent_at > parent.sent_at && t.sent_at < reply.sent_at;
        if humans
            .iter()
            .filter(between)
            .any(|t| t.conversation == reply.conversation)
        {
            continue;
        }
        let addresses = &synthetic.people[&candidate].addresses;
        let involves = |t: &Truth| t.addresses.iter().any(|a| addresses.contains(a));
        if reply.sender == candidate && !parent.addresses[1..].iter().any(|a| addresses.contains(a))
        {
            *excluded.entry(PARENT_NOT_TO_CANDIDATE).or_default() += 1;
            continue;
        }
        if humans.iter().filter(between).any(|t| involves(t)) {
            *excluded.entry(OTHER_THREAD_BETWEEN).or_default() += 1;
            continue;
        }
        out.push(Selected { reply, latency_s });
    }
    (out, excluded)
}

/// Syncs the synthetic mailbox into a fresh store, with `aliases` configured.
fn sync(synthetic: &Synthetic, aliases: &[Vec<String>]) -> Synced {
    let groups: Vec<String> = aliases
        .iter()
        .map(|g| {
            let quoted: Vec<String> = g.iter().map(|a| format!("{a:?}")).collect();
            format!("[{}]", quoted.join(", "))
        })
        .collect();
    let extra = format!("\n[account.scope]\naliases = [{}]\n", groups.join(", "));
    let synced = crate::synthetic::start(synthetic, &extra);
    synced.seed_and_sync(synthetic.seeds());
    synced
}

#[test]
fn latency_matches_ground_truth_on_a_synthetic_mailbox() {
    let Some(script) = generator() else {
        println!("SKIPPED: ../shared/tools/synth_recruiting_mailbox.py is absent");
        return;
    };
    let synthetic = generate(&script);
    let aliases = synthetic.candidates_with_two_addresses();
    assert!(
        !aliases.is_empty(),
        "the generator made no second addresses"
    );
    let synced = sync(&synthetic, &aliases);
    let facts = synced.load(&synced.account);
    let id_of = ids_by_key(&facts);

    // Closed waits by the Message-ID of the message that closed them.
    let mut closed: HashMap<&str, Vec<(i64, &Conversation)>> = HashMap::new();
    for c in &facts.conversations {
        for w in &c.waits {
            if let (Some(by), Some(latency)) = (w.closed_by, w.latency_s) {
                let id = id_of.get(&by).map_or("", String::as_str);
                closed.entry(id).or_default().push((latency, c));
            }
        }
    }

    // No wait is closed by machine mail. Exclusion, counted: a calendar client's "Accepted:"
    // answer to an invitation (kind invite-response) carries no Auto-Submitted or other machine
    // header, only the subject prefix; it is sent when the candidate clicks, so candor's
    // classifier takes it for the human answer it is in effect.
    let mut closed_by_machine: Vec<(&str, &str)> = Vec::new();
    let mut closed_by_invite_response = 0;
    for t in synthetic.truth.iter().filter(|t| t.auto) {
        let Some(id) = t.message_id.as_deref() else {
            continue;
        };
        if closed.contains_key(id) {
            if t.kind == "invite-response" {
                closed_by_invite_response += 1;
            } else {
                closed_by_machine.push((id, &t.kind));
            }
        }
    }
    println!(
        "machine mail: {} auto messages in truth, {closed_by_invite_response} invite responses close a wait (excluded), {} other machine mail closes a wait",
        synthetic.truth.iter().filter(|t| t.auto).count(),
        closed_by_machine.len()
    );
    assert!(
        closed_by_machine.is_empty(),
        "waits closed by machine mail: {closed_by_machine:?}"
    );

    let (selected, excluded) = select(&synthetic);
    for (reason, count) in &excluded {
        println!("excluded {count}: {reason}");
    }
    let mut matched = 0;
    let mut mismatched: Vec<String> = Vec::new();
    for s in &selected {
        let id = s.reply.message_id.as_deref().unwrap_or_default();
        match closed.get(id) {
            Some(found) if found.iter().any(|(l, _)| (l - s.latency_s).abs() <= 1) => {
                matched += 1;
            }
            Some(found) => mismatched.push(format!(
                "{id} ({}): truth {} s, candor {:?}",
                s.reply.file,
                s.latency_s,
                found
                    .iter()
                    .map(|(l, c)| (*l, &c.address))
                    .collect::<Vec<_>>()
            )),
            None => mismatched.push(format!(
                "{id} ({}): truth {} s, closes no wait in candor",
                s.reply.file, s.latency_s
            )),
        }
    }
    println!(
        "latency truth: {} replies selected, {matched} matched, {} mismatched",
        selected.len(),
        mismatched.len()
    );
    for m in mismatched.iter().take(20) {
        println!("  mismatch: {m}");
    }
    assert!(
        selected.len() > 500,
        "too few replies selected: {}",
        selected.len()
    );
    assert!(mismatched.is_empty(), "{} mismatches", mismatched.len());

    // A candidate's second address is merged when configured ...
    for group in &aliases {
        let found: Vec<Option<usize>> = group.iter().map(|a| facts.find(a)).collect();
        assert!(found[0].is_some(), "no conversation for {group:?}");
        assert!(
            found.iter().all(|f| *f == found[0]),
            "aliases {group:?} in conversations {found:?}"
        );
    }
    // ... and apart when not (the same store, loaded without the aliases).
    let mut unmerged_account = synced.account.clone();
    unmerged_account.scope.aliases.clear();
    let unmerged = synced.load(&unmerged_account);
    for group in &aliases {
        let found: BTreeSet<Option<usize>> = group.iter().map(|a| unmerged.find(a)).collect();
        assert_eq!(
            found.len(),
            group.len(),
            "{group:?} without aliases: {found:?}"
        );
        assert!(
            !found.contains(&None),
            "{group:?} without aliases: {found:?}"
        );
    }
    println!(
        "aliases: {} candidates with two addresses merged when configured, apart when not",
        aliases.len()
    );
}
