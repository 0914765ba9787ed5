//! Loop safety: two candor instances (Jane's and Bob's accounts on one stack, each the other's
//! candidate, both in `auto` mode with scope all) plus a real auto-responder (Pigeonhole Sieve
//! `vacation` on Vic's mailbox, answering every message) run side by side for weeks of `--now`.
//! No ping-pong: candor answers no auto-reply, no digest, no `own` message and no other candor's
//! follow-up; and every automated email stays within the policy's bounds (at most 2 follow-ups
//! and 1 closure per candidate, the follow-ups at least the configured spacing apart).
//!
//! Time: Postfix and Sieve stamp real time, candor runs at `--now`; human messages that must
//! look later than the start are seeded as Maildir files with their own dates.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use candor::testkit::{MailStack, SeedMessage, StackUser, StoredMessage};
use jiff::{SignedDuration, Timestamp};

use crate::support::{TestConfig, account_toml, candor, message, text, wait_until, write_config};

/// How many simulated days the two daemons run, one `run --once` each per day.
const DAYS: i64 = 36;

const AUTO_ALL_DAYS: &str = r#"
[account.scope]
mode = "all"

[account.schedule]
business_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
send_hours = "00:00-24:00"
"#;

fn days(d: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * d)
}

fn auto_config(stack: &MailStack, name: &str, user: &StackUser) -> TestConfig {
    write_config(&[&|dir| {
        account_toml(stack, name, user, dir, AUTO_ALL_DAYS)
            .replace("mode = \"dry-run\"", "mode = \"auto\"")
    }])
}

fn run_at(config: &TestConfig, at: Timestamp, args: &[&str]) -> String {
    let now = at.to_string();
    let mut all = vec!["--now", now.as_str()];
    all.extend_from_slice(args);
    let out = candor(config, &all);
    assert!(
        out.status.success(),
        "candor {all:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// The unfolded value of header `name`.
fn header(raw: &[u8], name: &str) -> Option<String> {
    let raw = String::from_utf8_lossy(raw);
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// One sent outbox row.
#[derive(Debug, Clone)]
struct Sent {
    recipient: String,
    kind: String,
    message_id: String,
    at: Timestamp,
}

/// The outbox rows of one instance: all of them as (state, kind, recipient), and the sent ones.
fn outbox(config: &TestConfig) -> (Vec<(String, String, String)>, Vec<Sent>) {
    let out = candor(config, &["outbox", "list", "--json"]);
    assert!(out.status.success(), "outbox list: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut all = Vec::new();
    let mut sent = Vec::new();
    for row in json.as_array().unwrap() {
        let s = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
        all.push((s("state"), s("kind"), s("recipient")));
        if s("state") == "sent" {
            sent.push(Sent {
                recipient: s("recipient").to_lowercase(),
                kind: s("kind"),
                message_id: bare_id(&s("message_id")),
                at: s("done_at")
                    .parse()
                    .unwrap_or_else(|e| panic!("done_at of {row}: {e}")),
            });
        }
    }
    (all, sent)
}

/// Waits until every sent email has arrived and, where it went to the auto-responder, its
/// vacation reply has come back to the sender: the stack is quiet again.
async fn settle(stack: &MailStack, users: &BTreeMap<String, StackUser>, sent: &[(String, Sent)]) {
    for (sender, row) in sent {
        let recipient = &users[&row.recipient];
        let id = row.message_id.clone();
        stack
            .wait_for_message(
                recipient,
                "INBOX",
                |m| header(&m.raw, "Message-ID").map(|v| bare_id(&v)) == Some(id.clone()),
                Duration::from_secs(30),
            )
            .await
            .unwrap_or_else(|e| panic!("{} never got {}: {e:#}", row.recipient, row.message_id));
        if row.recipient == "vic@candidates.example" {
            // Sieve logs its decision for every message; a reply it sent must also arrive.
            let needle = format!("msgid=<{}>: vacation action: ", row.message_id);
            let log = stack.dir().join("log/dovecot.log");
            let decision = || {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let line = log.lines().find(|l| l.contains(&needle))?.to_owned();
                Some(line)
            };
            let (decided, _) = wait_until(Duration::from_secs(30), || decision().is_some());
            assert!(decided, "Sieve never decided on {}", row.message_id);
            let line = decision().unwrap_or_default();
            println!(
                "  sieve: {}",
                line.split(": vacation action: ").nth(1).unwrap_or(&line)
            );
            if line.contains("sent vacation response") {
                let id = row.message_id.clone();
                stack
                    .wait_for_message(
                        &users[sender],
                        "INBOX",
                        |m| header(&m.raw, "In-Reply-To").is_some_and(|v| v.contains(&id)),
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("no vacation reply to {}: {e:#}", row.message_id));
            }
        }
    }
}

fn seeded(raw: Vec<u8>, at: Timestamp) -> SeedMessage {
    SeedMessage {
        raw,
        internal_date: at,
        flags: "S".to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_candors_and_a_vacation_responder_never_ping_pong_and_stay_within_policy_bounds() {
    if !candor::testkit::conf::sieve_installed() {
        // install-mailstack.sh installs dovecot-sieve; without it there is no auto-responder.
        panic!(
            "Pigeonhole Sieve is missing ({}): run scripts/install-mailstack.sh",
            candor::testkit::conf::SIEVE_PLUGIN
        );
    }
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let bob = stack.add_user("bob@client.example").unwrap();
    let vic = stack.add_user("vic@candidates.example").unwrap();
    let users: BTreeMap<String, StackUser> = [&jane, &bob, &vic]
        .into_iter()
        .map(|u| (u.address.clone(), u.clone()))
        .collect();
    let t0 = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let back = (t0 + days(3))
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .strftime("%-d %B %Y")
        .to_string();
    // Answers every message (`:seconds 0`), like the worst real auto-responders.
    stack
        .set_sieve_script(
            &vic,
            &format!(
                "require [\"vacation\", \"vacation-seconds\"];\n\
                 vacation :seconds 0 :addresses [\"vic@candidates.example\"] :subject \"Out of office\"\n\
                 \"I am out of the office until {back}.\";\n"
            ),
        )
        .unwrap();
    let jane_config = auto_config(&stack, "jane", &jane);
    let bob_config = auto_config(&stack, "bob", &bob);
    run_at(&jane_config, t0, &["sync"]);
    run_at(&bob_config, t0, &["sync"]);

    // Day 0: Jane writes to Bob and to Vic, Bob writes to Vic: three questions by people. The
    // ones to Vic go through SMTP so that Sieve answers them; every copy goes to Sent too.
    let human =
        |from: &StackUser,
         to: &StackUser,
         id: &str,
         subject: &str,
         at: Timestamp,
         extra: &str,
         body: &str| { message(&from.address, &to.address, subject, id, at, extra, body) };
    let h1 = t0 + SignedDuration::from_hours(1);
    let jane_bob = human(
        &jane,
        &bob,
        "jane-bob@agency.example",
        "A role at Acme",
        h1,
        "",
        "Hi Bob, would you be open to a chat?",
    );
    let jane_vic = human(
        &jane,
        &vic,
        "jane-vic@agency.example",
        "A role at Acme",
        h1,
        "",
        "Hi Vic, would you be open to a chat?",
    );
    let bob_vic = human(
        &bob,
        &vic,
        "bob-vic@client.example",
        "Your profile",
        h1,
        "",
        "Hi Vic, are you looking for a new role?",
    );
    stack
        .seed(
            &jane,
            "Sent",
            &[seeded(jane_bob.clone(), h1), seeded(jane_vic.clone(), h1)],
        )
        .unwrap();
    stack
        .seed(&bob, "Sent", &[seeded(bob_vic.clone(), h1)])
        .unwrap();
    stack.seed(&bob, "INBOX", &[seeded(jane_bob, h1)]).unwrap();
    stack
        .submit(&jane, &jane.address, &[&vic.address], &jane_vic)
        .await
        .unwrap();
    stack
        .submit(&bob, &bob.address, &[&vic.address], &bob_vic)
        .await
        .unwrap();
    for (user, id) in [
        (&jane, "jane-vic@agency.example"),
        (&bob, "bob-vic@client.example"),
    ] {
        stack
            .wait_for_message(
                user,
                "INBOX",
                |m| header(&m.raw, "In-Reply-To").is_some_and(|v| v.contains(id)),
                Duration::from_secs(30),
            )
            .await
            .unwrap_or_else(|e| panic!("Sieve vacation answered {id}: {e:#}"));
    }
    let mut human_ids: BTreeSet<String> = [
        "jane-bob@agency.example",
        "jane-vic@agency.example",
        "bob-vic@client.example",
    ]
    .map(str::to_owned)
    .into();

    let mut settled: Vec<String> = Vec::new();
    for day in 1..=DAYS {
        let at = t0 + days(day) + SignedDuration::from_hours(2);
        if day == 12 {
            // Bob answers Jane by hand, with a question of his own: now Jane owes Bob an answer
            // and Bob's candor waits for Jane, while Jane's follow-ups sit in Bob's Inbox.
            let reply = human(
                &bob,
                &jane,
                "bob-jane@client.example",
                "Re: A role at Acme",
                at - SignedDuration::from_hours(1),
                "In-Reply-To: <jane-bob@agency.example>\r\nReferences: <jane-bob@agency.example>\r\n",
                "Sure. Which team would it be, and could we talk on Tuesday?",
            );
            stack
                .seed(
                    &jane,
                    "INBOX",
                    &[seeded(reply.clone(), at - SignedDuration::from_hours(1))],
                )
                .unwrap();
            stack
                .seed(
                    &bob,
                    "Sent",
                    &[seeded(reply, at - SignedDuration::from_hours(1))],
                )
                .unwrap();
            human_ids.insert("bob-jane@client.example".to_owned());
        }
        run_at(&jane_config, at, &["run", "--once"]);
        run_at(&bob_config, at, &["run", "--once"]);
        let mut fresh = Vec::new();
        for (name, config) in [
            ("jane@agency.example", &jane_config),
            ("bob@client.example", &bob_config),
        ] {
            for row in outbox(config).1 {
                if !settled.contains(&row.message_id) {
                    settled.push(row.message_id.clone());
                    fresh.push((name.to_owned(), row));
                }
            }
        }
        for (sender, row) in &fresh {
            println!(
                "day {day:>2}: {sender} sent {} to {}",
                row.kind, row.recipient
            );
        }
        settle(&stack, &users, &fresh).await;
    }
    // One last pass so that the instances ingest what the last day delivered.
    let end = t0 + days(DAYS + 1);
    run_at(&jane_config, end, &["sync"]);
    run_at(&bob_config, end, &["sync"]);

    // Bounds per instance and candidate: at most 2 follow-ups and 1 closure, spaced.
    let mut automated_ids = BTreeSet::new();
    for (name, config) in [("jane", &jane_config), ("bob", &bob_config)] {
        let (all, sent) = outbox(config);
        println!("{name}'s outbox: {all:?}");
        assert!(
            all.iter()
                .all(|(state, _, _)| state != "unknown" && state != "failed"),
            "{name}: {all:?}"
        );
        let mut per_candidate: BTreeMap<&str, Vec<&Sent>> = BTreeMap::new();
        for row in &sent {
            per_candidate
                .entry(row.recipient.as_str())
                .or_default()
                .push(row);
            automated_ids.insert(row.message_id.clone());
        }
        for (candidate, mut rows) in per_candidate {
            rows.sort_by_key(|r| r.at);
            let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
            println!("{name} → {candidate}: {kinds:?}");
            let follow_ups = kinds.iter().filter(|k| k.starts_with("follow_up")).count();
            let closures = kinds.iter().filter(|k| k.starts_with("closure")).count();
            assert!(
                follow_ups <= 2 && closures <= 1,
                "{name} → {candidate}: {kinds:?}"
            );
            assert!(rows.len() <= 3, "{name} → {candidate}: {kinds:?}");
            for pair in rows.windows(2) {
                let gap = pair[1].at.duration_since(pair[0].at);
                assert!(
                    gap >= SignedDuration::from_hours(24 * 3),
                    "{name} → {candidate}: {:?} then {:?} only {gap:#} apart",
                    pair[0],
                    pair[1]
                );
                if pair[1].kind.starts_with("follow_up") {
                    assert!(
                        gap >= days(5),
                        "{name} → {candidate}: follow-ups {gap:#} apart"
                    );
                }
            }
        }
    }

    // No ping-pong: every automated email answers a message a person wrote, never an
    // auto-reply and never another automated email; and nobody else got anything.
    let mut all_mail: Vec<(String, StoredMessage)> = Vec::new();
    for user in users.values() {
        for m in stack.read_folder(user, "INBOX").await.unwrap() {
            all_mail.push((user.address.clone(), m));
        }
    }
    let mut auto_replies = 0;
    let mut candor_emails = 0;
    for (owner, m) in &all_mail {
        let is_vacation =
            header(&m.raw, "Auto-Submitted").is_some_and(|v| v.starts_with("auto-replied"));
        auto_replies += usize::from(is_vacation);
        if header(&m.raw, "X-Candor").is_none() {
            continue;
        }
        candor_emails += 1;
        let answered = bare_id(&header(&m.raw, "In-Reply-To").unwrap_or_default());
        assert!(
            human_ids.contains(&answered),
            "an automated email to {owner} answers {answered}, not a person's message"
        );
        assert!(
            !automated_ids.contains(&answered),
            "{owner}: candor answered candor"
        );
    }
    println!(
        "{} messages in the three Inboxes: {candor_emails} from candor, {auto_replies} vacation replies",
        all_mail.len()
    );
    assert_eq!(
        candor_emails,
        settled.len(),
        "every sent row arrived once, nothing else"
    );
    // Jane and Bob each follow up Vic and each other: the total is bounded by the policy.
    assert!(candor_emails <= 4 * 3, "{candor_emails} automated emails");
    assert!(
        candor_emails >= 2,
        "the scenario did make candor send: {candor_emails}"
    );
    // What the auto-responder did: every reply it sent arrived, and candor's emails were
    // recognised by Sieve as not to be answered (X-Auto-Response-Suppress: OOF).
    let log = std::fs::read_to_string(stack.dir().join("log/dovecot.log")).unwrap();
    let replies_sent = log
        .matches("vacation action: sent vacation response")
        .count();
    let suppressed = log
        .matches("flag found in x-auto-response-suppress header")
        .count();
    let to_vic = all_mail
        .iter()
        .filter(|(o, _)| o == "vic@candidates.example")
        .count();
    println!(
        "Vic received {to_vic}: Sieve sent {replies_sent} vacation replies, suppressed {suppressed}"
    );
    assert_eq!(
        auto_replies, replies_sent,
        "every vacation reply arrived, no other auto-reply"
    );
    assert!(
        replies_sent >= 2,
        "Sieve answered the two people who wrote to Vic"
    );
    assert!(
        replies_sent + suppressed <= to_vic,
        "one decision per message to Vic at most"
    );
}
