//! The synthetic recruiting mailbox of `../shared/tools/synth_recruiting_mailbox.py` and its
//! ground truth, shared by the tests that compare candor with it (`latency_truth`,
//! `plan_truth`): generating it, reading `truth.jsonl` and `people.json`, seeding it into a
//! loopback Dovecot and syncing it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use candor::report::facts::{self, AccountFacts};
use candor::testkit::{MailStack, SeedMessage, StackUser};
use serde_json::Value;

use crate::support::{TestConfig, account_toml, candor, text, write_config};

pub(crate) const RECRUITER_DOMAIN: &str = "talentbridge.example";

/// The generator, when `../shared` is present.
pub(crate) fn generator() -> Option<PathBuf> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/synth_recruiting_mailbox.py");
    path.exists().then_some(path)
}

/// One line of `truth.jsonl`, the fields these tests read.
#[derive(Debug, Clone)]
pub(crate) struct Truth {
    pub(crate) file: String,
    pub(crate) folder: String,
    pub(crate) message_id: Option<String>,
    pub(crate) conversation: i64,
    pub(crate) parent: Option<String>,
    pub(crate) parent_present: bool,
    /// The generator's kind: reply, auto-reply, bounce, invite-response, ...
    pub(crate) kind: String,
    pub(crate) auto: bool,
    pub(crate) sender: i64,
    pub(crate) sent_at: i64,
    pub(crate) delivered_at: i64,
    pub(crate) latency_s: Option<i64>,
    pub(crate) malformed: Vec<String>,
    pub(crate) duplicate: bool,
    /// From, To and Cc, lowercased.
    pub(crate) addresses: Vec<String>,
    /// To alone, lowercased.
    pub(crate) to: Vec<String>,
}

fn parse_truth(line: &str) -> Truth {
    let v: Value = serde_json::from_str(line).unwrap();
    let time = |field: &str| {
        let t: jiff::Timestamp = v[field].as_str().unwrap().parse().unwrap();
        t.as_second()
    };
    let lowercase = |field: &str| -> Vec<String> {
        v[field]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|a| a.as_str().map(str::to_lowercase))
            .collect()
    };
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
        sent_at: time("sent_at"),
        delivered_at: time("delivered_at"),
        latency_s: v["latency_s"].as_i64(),
        malformed: v["malformed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect(),
        duplicate: !v["duplicate_of"].is_null(),
        addresses: v["from_addr"]
            .as_str()
            .map(str::to_lowercase)
            .into_iter()
            .chain(lowercase("to_addrs"))
            .chain(lowercase("cc_addrs"))
            .collect(),
        to: lowercase("to_addrs"),
    }
}

/// One entry of `people.json`.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    /// candidate, hiring-manager, colleague, list-member, system, recruiter.
    pub(crate) role: String,
    /// Lowercased, distinct.
    pub(crate) addresses: Vec<String>,
    /// Mail to this person hard-bounces.
    pub(crate) bounces: bool,
    /// Out-of-office periods, (start, end) in Unix seconds.
    pub(crate) out_of_office: Vec<(i64, i64)>,
}

fn parse_person(p: &Value) -> (i64, Person) {
    let mut addresses: Vec<String> = Vec::new();
    for a in p["addresses"].as_array().unwrap() {
        let a = a.as_str().unwrap().to_lowercase();
        if !addresses.contains(&a) {
            addresses.push(a);
        }
    }
    let second = |v: &Value| {
        let t: jiff::Timestamp = v.as_str().unwrap().parse().unwrap();
        t.as_second()
    };
    let out_of_office = p["out_of_office"]
        .as_array()
        .unwrap()
        .iter()
        .map(|period| (second(&period[0]), second(&period[1])))
        .collect();
    let person = Person {
        role: p["role"].as_str().unwrap().to_owned(),
        addresses,
        bounces: p["bounces"].as_bool().unwrap_or(false),
        out_of_office,
    };
    (p["id"].as_i64().unwrap(), person)
}

/// The generated mailbox: files, truth and people.
pub(crate) struct Synthetic {
    dir: tempfile::TempDir,
    pub(crate) truth: Vec<Truth>,
    pub(crate) people: HashMap<i64, Person>,
}

/// Generates the mailbox both truth tests read: 3000 messages, seed 11, Sent apart from INBOX.
pub(crate) fn generate(script: &Path) -> Synthetic {
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
        .map(parse_person)
        .collect();
    Synthetic { dir, truth, people }
}

impl Synthetic {
    pub(crate) fn role(&self, person: i64) -> &str {
        self.people.get(&person).map_or("", |p| &p.role)
    }

    pub(crate) fn recruiter_id(&self) -> i64 {
        let (id, _) = self
            .people
            .iter()
            .find(|(_, p)| p.role == "recruiter")
            .expect("people.json names the recruiter");
        *id
    }

    pub(crate) fn recruiter(&self) -> String {
        self.people[&self.recruiter_id()].addresses[0].clone()
    }

    /// The person one of whose addresses is `address` (lowercased).
    pub(crate) fn person_of(&self, address: &str) -> Option<(i64, &Person)> {
        self.people
            .iter()
            .find(|(_, p)| p.addresses.iter().any(|a| a == address))
            .map(|(id, p)| (*id, p))
    }

    /// Candidates with a second address that the mailbox really uses (case variants do not count).
    pub(crate) fn candidates_with_two_addresses(&self) -> Vec<Vec<String>> {
        let used: BTreeSet<&str> = self
            .truth
            .iter()
            .flat_map(|t| t.addresses.iter().map(String::as_str))
            .collect();
        let mut groups: Vec<Vec<String>> = self
            .people
            .values()
            .filter(|p| p.role == "candidate" && p.addresses.len() > 1)
            .map(|p| p.addresses.clone())
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
    pub(crate) fn seeds(&self) -> BTreeMap<String, Vec<SeedMessage>> {
        self.seeds_where(|_| true)
    }

    /// The files `keep` picks, as [`Synthetic::seeds`].
    pub(crate) fn seeds_where(
        &self,
        keep: impl Fn(&Truth) -> bool,
    ) -> BTreeMap<String, Vec<SeedMessage>> {
        let mut out: BTreeMap<String, Vec<SeedMessage>> = BTreeMap::new();
        for t in self.truth.iter().filter(|t| keep(t)) {
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

/// The recruiter's mailbox on a loopback stack and a candor configuration reading it.
pub(crate) struct Synced {
    stack: MailStack,
    owner: StackUser,
    pub(crate) config: TestConfig,
    pub(crate) account: candor::config::Account,
}

/// Starts a stack with the recruiter's mailbox (empty) and a config for account "dana" with
/// `extra` inside the account section.
pub(crate) fn start(synthetic: &Synthetic, extra: &str) -> Synced {
    let stack = MailStack::start_with_domains(&[RECRUITER_DOMAIN]).unwrap();
    let owner = stack.add_user(&synthetic.recruiter()).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "dana", &owner, dir, extra)]);
    let loaded = candor::config::load(&config.path).unwrap();
    let account = loaded.accounts[0].clone();
    Synced {
        stack,
        owner,
        config,
        account,
    }
}

impl Synced {
    /// Adds `seeds` to the mailbox and runs `candor sync`.
    pub(crate) fn seed_and_sync(&self, seeds: BTreeMap<String, Vec<SeedMessage>>) {
        for (folder, messages) in seeds {
            self.stack.seed(&self.owner, &folder, &messages).unwrap();
        }
        let out = candor(&self.config, &["sync"]);
        assert!(out.status.success(), "sync failed: {}", text(&out.stderr));
    }

    pub(crate) fn store(&self) -> candor::store::Store {
        let path = self.config.path.parent().unwrap().join("candor.db");
        candor::store::Store::open(&path).unwrap()
    }

    /// The account's facts, read with `account` (the synced one, or a variant of it).
    pub(crate) fn load(&self, account: &candor::config::Account) -> AccountFacts {
        facts::load(&self.store(), account).unwrap()
    }
}

/// Store key → the message's Message-ID without brackets.
pub(crate) fn ids_by_key(facts: &AccountFacts) -> HashMap<i64, String> {
    facts
        .messages
        .iter()
        .filter_map(|m| {
            let id = m.message_id.as_deref()?;
            Some((m.key, id.trim_matches(['<', '>']).to_owned()))
        })
        .collect()
}
