//! Latency against ground truth (issue 5): a synthetic recruiting mailbox whose generator knows
//! who answered whom and when, synced through the real Dovecot, then compared wait by wait.
//!
//! Needs `../shared/tools/synth_recruiting_mailbox.py`; says so and checks nothing else when the
//! shared folder is absent.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use candor::conversations::Conversation;
use candor::report::facts::{self, AccountFacts};
use candor::testkit::{MailStack, SeedMessage};
use serde_json::Value;

use crate::support::{account_toml, candor, text, write_config};

const RECRUITER_DOMAIN: &str = "talentbridge.example";

fn generator() -> Option<PathBuf> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/synth_recruiting_mailbox.py");
    path.exists().then_some(path)
}

/// One line of `truth.jsonl`, the fields this test reads.
#[derive(Debug, Clone)]
struct Truth {
    file: String,
    folder: String,
    message_id: Option<String>,
    conversation: i64,
    parent: Option<String>,
    parent_present: bool,
    /// The generator's kind: reply, auto-reply, bounce, invite-response, ...
    kind: String,
    auto: bool,
    sender: i64,
    sent_at: i64,
    latency_s: Option<i64>,
    malformed: Vec<String>,
    duplicate: bool,
    /// From, To and Cc, lowercased.
    addresses: Vec<String>,
}

fn parse_truth(line: &str) -> Truth {
    let v: Value = serde_json::from_str(line).unwrap();
    let sent_at: jiff::Timestamp = v["sent_at"].as_str().unwrap().parse().unwrap();
    Truth {
        file: v["file"].as_str().unwrap().to_owned(),
        folder: v["folder"].as_str().unwrap().to_owned(),
        message_id: v["message_id"].as_str().map(str::to_owned),
        conversation: v["conversation"].as_i64().unwrap(),
        parent: v["parent"].as_str().map(str::to_owned),
        parent_present: v["parent_present"].as_bool().unwrap_or(false),
        kind: v["kind"].as_str().unwrap().to_owned(),
        auto: v["auto"].as_bool().unwrap(),
        sender: v["sender_person"].as_i64().unwrap(),
        sent_at: sent_at.as_second(),
        latency_s: v["latency_s"].as_i64(),
        malformed: v["malformed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect(),
        duplicate: !v["duplicate_of"].is_null(),
        addresses: std::iter::once(&v["from_addr"])
            .chain(v["to_addrs"].as_array().unwrap())
            .chain(v["cc_addrs"].as_array().unwrap())
            .filter_map(|a| a.as_str().map(str::to_lowercase))
            .collect(),
    }
}

/// The generated mailbox: files, truth and people.
struct Synthetic {
    dir: tempfile::TempDir,
    truth: Vec<Truth>,
    /// person id → (role, lowercased distinct addresses)
    people: HashMap<i64, (String, Vec<String>)>,
}

fn generate(script: &Path) -> Synthetic {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("python3")
        .arg(script)
        .args(["--messages", "3000", "--seed", "11", "--layout", "folders"])
        .arg("--no-mbox")
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "generator: {}", text(&out.stderr));
    let truth = std::fs::read_to_string(dir.path().join("truth.jsonl"))
        .unwrap()
        .lines()
        .map(parse_truth)
        .collect();
    let people: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("people.json")).unwrap()).unwrap();
    let people = people
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let mut addresses: Vec<String> = Vec::new();
            for a in p["addresses"].as_array().unwrap() {
                let a = a.as_str().unwrap().to_lowercase();
                if !addresses.contains(&a) {
                    addresses.push(a);
                }
            }
            let role = p["role"].as_str().unwrap().to_owned();
            (p["id"].as_i64().unwrap(), (role, addresses))
        })
        .collect();
    Synthetic { dir, truth, people }
}

impl Synthetic {
    fn role(&self, person: i64) -> &str {
        self.people.get(&person).map_or("", |(r, _)| r)
    }

    fn recruiter(&self) -> String {
        let (_, (_, addresses)) = self
            .people
            .iter()
            .find(|(_, (role, _))| role == "recruiter")
            .expect("people.json names the recruiter");
        addresses[0].clone()
    }

    /// Candidates with a second address that the mailbox really uses (case variants do not count).
    fn candidates_with_two_addresses(&self) -> Vec<Vec<String>> {
        let used: BTreeSet<&str> = self
            .truth
            .iter()
            .flat_map(|t| t.addresses.iter().map(String::as_str))
            .collect();
        let mut groups: Vec<Vec<String>> = self
            .people
            .values()
            .filter(|(role, a)| role == "candidate" && a.len() > 1)
            .map(|(_, a)| a.clone())
            .filter(|a| a.iter().all(|x| used.contains(x.as_str())))
            .collect();
        groups.sort();
        groups
    }

    fn file_path(&self, t: &Truth) -> PathBuf {
        let maildir = self.dir.path().join("maildir");
        match t.folder.as_str() {
            "INBOX" => maildir.join("cur").join(&t.file),
            other => maildir.join(format!(".{other}")).join("cur").join(&t.file),
        }
    }

    /// Every file as a seed message, INTERNALDATE from the file's mtime, per folder in UID order.
    fn seeds(&self) -> BTreeMap<String, Vec<SeedMessage>> {
        let mut out: BTreeMap<String, Vec<SeedMessage>> = BTreeMap::new();
        for t in &self.truth {
            let path = self.file_path(t);
            let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
            let flags = t.file.rsplit_once(":2,").map_or("", |(_, f)| f).to_owned();
            out.entry(t.folder.clone()).or_default().push(SeedMessage {
                raw: std::fs::read(&path).unwrap(),
                internal_date: jiff::Timestamp::try_from(mtime).unwrap(),
                flags,
            });
        }
        for messages in out.values_mut() {
            messages.sort_by_key(|m| m.internal_date);
        }
        out
    }
}

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
        let addresses = &synthetic.people[&candidate].1;
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

/// Syncs the synthetic mailbox into a fresh store and loads the account's facts.
struct Synced {
    _stack: MailStack,
    config: crate::support::TestConfig,
    account: candor::config::Account,
}

fn sync(synthetic: &Synthetic, aliases: &[Vec<String>]) -> Synced {
    let stack = MailStack::start_with_domains(&[RECRUITER_DOMAIN]).unwrap();
    let owner = stack.add_user(&synthetic.recruiter()).unwrap();
    for (folder, messages) in synthetic.seeds() {
        stack.seed(&owner, &folder, &messages).unwrap();
    }
    let groups: Vec<String> = aliases
        .iter()
        .map(|g| {
            let quoted: Vec<String> = g.iter().map(|a| format!("{a:?}")).collect();
            format!("[{}]", quoted.join(", "))
        })
        .collect();
    let extra = format!("\n[account.scope]\naliases = [{}]\n", groups.join(", "));
    let config = write_config(&[&|dir| account_toml(&stack, "dana", &owner, dir, &extra)]);
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "sync failed: {}", text(&out.stderr));
    let loaded = candor::config::load(&config.path).unwrap();
    let account = loaded.accounts[0].clone();
    Synced {
        _stack: stack,
        config,
        account,
    }
}

fn load(synced: &Synced, account: &candor::config::Account) -> AccountFacts {
    let path = synced.config.path.parent().unwrap().join("candor.db");
    let store = candor::store::Store::open(&path).unwrap();
    facts::load(&store, account).unwrap()
}

/// Store key → the message's Message-ID without brackets.
fn ids_by_key(facts: &AccountFacts) -> HashMap<i64, String> {
    facts
        .messages
        .iter()
        .filter_map(|m| {
            let id = m.message_id.as_deref()?;
            Some((m.key, id.trim_matches(['<', '>']).to_owned()))
        })
        .collect()
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
    let facts = load(&synced, &synced.account);
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
    let unmerged = load(&synced, &unmerged_account);
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
