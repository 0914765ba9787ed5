//! The digest (SPEC §10, issue 7) against the real servers: the demo mailbox's digest arrives in
//! the owner's Inbox with both parts and its headers, names the right people in the right
//! sections, and every figure equals `stats --json` over the period it prints; the daemon sends
//! one digest per slot at the local hour across a DST change, restarts and downtime; a closure
//! the owner decided waits for a digest that lists it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use candor::report::candidates::human_duration;
use candor::testkit::{MailStack, SeedMessage, StackUser, StoredMessage, demo};
use mail_parser::{MessageParser, MimeHeaders as _};
use serde_json::Value;

use crate::support::{
    TestConfig, account_toml, candor, message, stats, text, wait_until, write_config,
};

const DEADLINE: Duration = Duration::from_secs(60);

fn run_ok(config: &TestConfig, args: &[&str]) -> String {
    let out = candor(config, args);
    assert!(
        out.status.success(),
        "candor {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn is_digest(m: &StoredMessage) -> bool {
    text(&m.raw).contains("X-Candor: kind=digest;")
}

fn digests_in_inbox(stack: &MailStack, user: &StackUser) -> Vec<StoredMessage> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let messages = runtime.block_on(stack.read_folder(user, "INBOX")).unwrap();
    messages.into_iter().filter(is_digest).collect()
}

/// Waits until the Inbox holds `n` digests, and returns them (oldest UID first).
fn wait_for_digests(stack: &MailStack, user: &StackUser, n: usize) -> Vec<StoredMessage> {
    let mut found = Vec::new();
    let (ok, _) = wait_until(DEADLINE, || {
        found = digests_in_inbox(stack, user);
        found.len() >= n
    });
    assert!(ok, "{} digest(s) in the Inbox, expected {n}", found.len());
    assert_eq!(found.len(), n, "exactly {n} digest(s)");
    found
}

/// The parts and headers of a delivered digest.
struct Delivered {
    text: String,
    html: String,
    date: jiff::Timestamp,
}

fn parse_digest(m: &StoredMessage) -> Delivered {
    let parsed = MessageParser::default().parse(&m.raw).expect("a message");
    let root = parsed.root_part();
    let ct = root.content_type().expect("a content type");
    assert_eq!(
        (ct.ctype(), ct.subtype()),
        ("multipart", Some("alternative")),
        "multipart/alternative"
    );
    let header = |name: &str| {
        parsed
            .header_raw(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .trim()
            .to_owned()
    };
    assert_eq!(header("Auto-Submitted"), "auto-generated");
    assert_eq!(header("X-Auto-Response-Suppress"), "All");
    let x_candor = header("X-Candor");
    assert!(
        x_candor.starts_with("kind=digest; outbox=") && x_candor.ends_with("; account=jane"),
        "X-Candor: {x_candor}"
    );
    let text = parsed.body_text(0).expect("a text part").into_owned();
    let html = parsed.body_html(0).expect("an HTML part").into_owned();
    assert!(
        !html.to_lowercase().contains("<script") && !html.contains("src=\"http"),
        "no scripts, no external images"
    );
    let date = parsed.date().expect("a Date header").to_timestamp();
    Delivered {
        text,
        html,
        date: jiff::Timestamp::from_second(date).unwrap(),
    }
}

/// The lines of the section whose heading starts with `title`, up to the next blank line.
fn section<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    text.lines()
        .skip_while(|l| !l.starts_with(title))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .collect()
}

fn line_with<'a>(lines: &[&'a str], needle: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in {lines:#?}"))
}

/// The period printed in the footer: `--since A --until B`.
fn period(text: &str) -> (String, String) {
    let line = text
        .lines()
        .find(|l| l.contains("candor stats --json --since "))
        .expect("the footer names the stats command of the period");
    let words: Vec<&str> = line.split_whitespace().collect();
    let after = |flag: &str| {
        let i = words.iter().position(|w| *w == flag).unwrap();
        words[i + 1].to_owned()
    };
    (after("--since"), after("--until"))
}

fn stats_between(config: &TestConfig, since: &str, until: &str) -> Value {
    let out = candor(
        config,
        &["stats", "--json", "--since", since, "--until", until],
    );
    assert!(out.status.success(), "stats: {}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["accounts"][0].clone()
}

fn human(v: &Value) -> String {
    human_duration(v.as_i64())
}

/// Every figure of the digest text equals `stats --json` over its period (and the period before
/// it for the "before" figures).
fn assert_figures_match_stats(config: &TestConfig, digest: &str) {
    let (since, until) = period(digest);
    let s = stats_between(config, &since, &until);
    let (a, b): (jiff::Timestamp, jiff::Timestamp) =
        (since.parse().unwrap(), until.parse().unwrap());
    let before_start = (a - (b - a)).to_string();
    let p = stats_between(config, &before_start, &since);
    let times = section(digest, "REPLY TIMES");
    for (label, key) in [
        ("Your replies to candidates", "recruiter_reply"),
        ("Candidates' replies to you", "candidate_reply"),
    ] {
        let (l, pl) = (&s["latency"][key], &p["latency"][key]);
        let n = l["n"].as_u64().unwrap();
        let want = format!(
            "- {label}: {} / {} [{} / {}] over {n} {}; before: {} / {} over {}",
            human(&l["median_s"]),
            human(&l["p90_s"]),
            human(&l["business_median_s"]),
            human(&l["business_p90_s"]),
            if n == 1 { "reply" } else { "replies" },
            human(&pl["median_s"]),
            human(&pl["p90_s"]),
            pl["n"]
        );
        assert_eq!(
            line_with(&times, label),
            want,
            "{key} over {since}..{until}"
        );
    }
    let totals = section(digest, "TOTALS");
    let act = &s["activity"];
    let want = format!(
        "- follow-ups sent: {}, closures sent: {}, drafted: {}, recorded (dry-run): {}",
        act["follow_ups_sent"], act["closures_sent"], act["drafted"], act["recorded"]
    );
    assert_eq!(line_with(&totals, "follow-ups sent"), want);
    let want = format!(
        "- bounces: {}, opt-outs: {}, unknown sends: {}, failed sends: {}",
        act["bounces"], act["opt_outs"], act["unknown"], act["failed"]
    );
    assert_eq!(line_with(&totals, "bounces"), want);
    assert_eq!(
        line_with(&totals, "messages in the period"),
        format!("- messages in the period: {}", s["messages"])
    );
    assert!(
        line_with(&totals, "candidates:")
            .starts_with(&format!("- candidates: {} (", s["candidates"])),
        "{totals:?}"
    );
}

/// Jane's demo mailbox, seeded as `candor-stack seed-demo` does.
fn demo_stack() -> (MailStack, StackUser) {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user(demo::RECRUITER).unwrap();
    let mailbox = demo::demo_mailbox(jiff::ZonedDateTime::now().date());
    for folder in ["INBOX", "Sent"] {
        let mut messages: Vec<_> = mailbox
            .iter()
            .filter(|(f, _)| f == folder)
            .map(|(_, m)| m.clone())
            .collect();
        messages.sort_by_key(|m| m.internal_date);
        stack.seed(&jane, folder, &messages).unwrap();
    }
    (stack, jane)
}

const DEMO_POLICY: &str = "
[account.scope]
exclude = [\"client.example\"]
aliases = [[\"julia.novak@candidates.example\", \"julia.n@mailbox.example\"]]

[account.policy]
act_on_existing = true

[account.schedule]
business_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]
send_hours = \"00:00-24:00\"
";

/// Regression: the demo printed its digest in the second its `run --once` acted, and the digest
/// said nothing was done since the last summary: the period ended at the start of that second.
/// `stats --json` without `--until` left that second out in the same way.
#[test]
fn a_printed_digest_lists_what_was_done_in_the_same_second() {
    let (stack, jane) = demo_stack();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, DEMO_POLICY)]);
    run_ok(&config, &["sync"]);
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .unwrap()
        .to_string();
    run_ok(&config, &["--now", &now, "run", "--once"]);
    let rows: Value =
        serde_json::from_str(&run_ok(&config, &["outbox", "list", "--json"])).unwrap();
    let recorded: Vec<&str> = rows
        .as_array()
        .expect("outbox list --json is an array")
        .iter()
        .filter(|r| r["state"] == "recorded")
        .map(|r| r["done_at"].as_str().expect("a recorded row has its time"))
        .collect();
    let done = recorded.len();
    assert!(done > 0, "run --once acted on the demo mailbox: {rows:#}");
    // Asked in the second the last email was recorded in. `run --once` started at `now` may
    // take more than a second (a loaded machine, tests in parallel): its rows then fall after
    // the second of `now`, and the digest asked at `now` missed them with or without the fix.
    let now = recorded
        .iter()
        .map(|t| t.parse::<jiff::Timestamp>().expect("RFC 3339"))
        .max()
        .expect("one row at least")
        .to_string();
    let printed = run_ok(&config, &["--now", &now, "digest", "--print"]);
    let listed = printed
        .lines()
        .find(|l| l.starts_with("SENT OR DRAFTED SINCE THE LAST SUMMARY"))
        .unwrap_or_else(|| panic!("no such section in {printed}"));
    assert_eq!(
        listed,
        format!("SENT OR DRAFTED SINCE THE LAST SUMMARY ({done})"),
        "{printed}"
    );
    // stats' default window ends now too, the current second included.
    let stats: Value = serde_json::from_str(&run_ok(&config, &["--now", &now, "stats", "--json"]))
        .expect("stats --json is JSON");
    assert_eq!(
        stats["accounts"][0]["activity"]["recorded"], done,
        "{stats:#}"
    );
}

#[test]
fn the_demo_digest_arrives_names_the_right_people_and_equals_stats() {
    let (stack, jane) = demo_stack();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, DEMO_POLICY)]);
    run_ok(&config, &["sync"]);

    // --print shows what --send sends, and records nothing.
    let printed = run_ok(&config, &["digest", "--print"]);
    assert!(
        digests_in_inbox(&stack, &jane).is_empty(),
        "--print sends nothing"
    );
    run_ok(&config, &["digest", "--send"]);
    let first = parse_digest(&wait_for_digests(&stack, &jane, 1)[0]);
    let body = &first.text;
    for name in [
        "Julia Novak",
        "Alice Martin",
        "Ivan Petrov",
        "Bruno Silva",
        "Dana Kowalski",
    ] {
        assert!(
            printed.contains(name) && body.contains(name),
            "--print and --send agree: {name}"
        );
    }

    // Awaiting Jane: oldest first, overdue marked, with the first sentence of their message.
    let awaiting = section(body, "AWAITING YOUR REPLY");
    let order: Vec<usize> = ["Julia Novak", "Alice Martin", "Ivan Petrov"]
        .iter()
        .map(|n| awaiting.iter().position(|l| l.contains(n)).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {awaiting:#?}"
    );
    assert!(line_with(&awaiting, "Alice Martin").starts_with("- [OVERDUE] Alice Martin"));
    assert!(!line_with(&awaiting, "Ivan Petrov").contains("OVERDUE"));
    assert!(
        awaiting
            .iter()
            .any(|l| l.contains("\"Thank you for thinking of me.")),
        "Alice's first sentence, not her greeting: {awaiting:#?}"
    );
    // Gone quiet: what candor sends in the next 24 hours, each with how to stop it.
    let coming = section(body, "GONE QUIET");
    assert!(line_with(&coming, "Bruno Silva").contains("first follow-up"));
    assert!(line_with(&coming, "chen.wei@candidates.example").contains("second follow-up"));
    assert!(line_with(&coming, "Dana Kowalski").contains("closure after silence"));
    assert!(
        line_with(
            &coming,
            "to stop it: candor candidate pause bruno@silva.example"
        )
        .len()
            > 10
    );
    for nobody in ["Alice", "Julia", "Hannah", "gregory", "mark.evans"] {
        assert!(
            !coming.iter().any(|l| l.contains(nobody)),
            "{nobody} in {coming:#?}"
        );
    }
    let attention = section(body, "NEEDS YOUR ATTENTION");
    assert!(line_with(&attention, "gregory.olsen@candidates.example").contains("bounce"));
    assert!(line_with(&attention, "Hannah Weber").contains("opted out"));
    assert!(first.html.contains("Alice Martin") && first.html.contains("Bruno Silva"));
    assert_figures_match_stats(&config, body);

    // Candor acts (dry-run: recorded); the next digest covers the time since the first one. The
    // clock is moved on a minute each time: a period ends on a whole second and what happens
    // within the digest's own second belongs to the next period.
    let later = |minutes: i64| {
        (jiff::Timestamp::now() + jiff::SignedDuration::from_mins(minutes)).to_string()
    };
    run_ok(&config, &["--now", &later(1), "run", "--once"]);
    run_ok(&config, &["--now", &later(2), "digest", "--send"]);
    let second = parse_digest(&wait_for_digests(&stack, &jane, 2)[1]);
    let (since, _) = period(&second.text);
    assert_eq!(
        since,
        period(body).1,
        "the period starts where the last one ended"
    );
    let done = section(&second.text, "SENT OR DRAFTED");
    assert!(line_with(&done, "Bruno Silva").contains("first follow-up to Bruno Silva"));
    assert!(line_with(&done, "Dana Kowalski").contains("recorded"));
    assert_figures_match_stats(&config, &second.text);
    assert!(
        line_with(&section(&second.text, "TOTALS"), "recorded").ends_with("recorded (dry-run): 3"),
        "{}",
        second.text
    );
    assert!(first.date <= second.date);

    // The digests are the owner's own mail: class `own`, never a candidate.
    let end = later(3);
    run_ok(&config, &["--now", &end, "sync"]);
    let candidates: Value =
        serde_json::from_str(&run_ok(&config, &["--now", &end, "candidates", "--json"])).unwrap();
    assert!(
        !candidates
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["address"] == demo::RECRUITER),
        "the owner is not a candidate"
    );
    // The window from the first digest on holds the two digests and nothing else.
    let since = period(body).1;
    let classes = &stats_between(&config, &since, &end)["classes"];
    assert_eq!(classes["own"], 2, "both digests are own mail: {classes}");
    assert_eq!(
        classes["human"], 0,
        "no digest counts as human mail: {classes}"
    );
}

/// A daemon (`candor run --now T`); killed (SIGKILL) when dropped: a restart must not depend on
/// a clean stop.
struct Daemon(Child);

impl Daemon {
    fn start(config: &TestConfig, now: &str) -> Daemon {
        let child = Command::new(env!("CARGO_BIN_EXE_candor"))
            .arg("--config")
            .arg(&config.path)
            .args(["--now", now, "run"])
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Daemon(child)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the daemon has finished a sync at or after `now`. Its digest task checks the
/// slot at start with a few SQLite reads, long before a TLS login and a fetch are done.
fn wait_for_sync_after(config: &TestConfig, now: &str) {
    let (ok, _) = wait_until(DEADLINE, || {
        stats(config, "jane")["last_sync"]
            .as_str()
            .is_some_and(|t| t >= now)
    });
    assert!(ok, "no sync after {now}");
}

fn digest_rows(config: &TestConfig) -> usize {
    let rows: Value = serde_json::from_str(&run_ok(config, &["outbox", "list", "--json"])).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "digest")
        .count()
}

fn seed(raw: Vec<u8>, at: jiff::Timestamp) -> SeedMessage {
    SeedMessage {
        raw,
        internal_date: at,
        flags: "S".to_owned(),
    }
}

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

/// Asserts a digest was sent within half a minute after `slot` and covers `period`.
fn assert_digest_at(m: &StoredMessage, slot: &str, period_: (&str, &str)) {
    let d = parse_digest(m);
    let lag = d.date.as_second() - ts(slot).as_second();
    assert!(
        (0..30).contains(&lag),
        "sent at {} for the slot {slot}",
        d.date
    );
    assert_eq!(
        period(&d.text),
        (period_.0.to_owned(), period_.1.to_owned())
    );
}

/// Olga asked Jane a question on 26 March 2026; digests daily at 08:00 in Berlin.
fn olga_asked_daily_digest_at_8() -> (MailStack, StackUser, TestConfig) {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user(demo::RECRUITER).unwrap();
    let at = ts("2026-03-26T10:00:00Z");
    let raw = message(
        "Olga Berg <olga@candidates.example>",
        "Jane Doe <jane@agency.example>",
        "Backend role",
        "olga.1@candidates.example",
        at,
        "",
        "Hello Jane,\n\nIs the backend role still open?\n",
    );
    stack.seed(&jane, "INBOX", &[seed(raw, at)]).unwrap();
    let config = write_config(&[&|dir| {
        account_toml(
            &stack,
            "jane",
            &jane,
            dir,
            "\n[account.digest]\nschedule = \"daily\"\nat = \"08:00\"\n",
        )
    }]);
    (stack, jane, config)
}

#[test]
fn the_daemon_sends_one_digest_per_slot_across_dst_restarts_and_downtime() {
    let (stack, jane, config) = olga_asked_daily_digest_at_8();

    // A fresh install started ten seconds before Saturday's 08:00 (CET, 07:00Z): one digest at
    // 08:00, not yesterday's slot as well.
    let daemon = Daemon::start(&config, "2026-03-28T06:59:50Z");
    let found = wait_for_digests(&stack, &jane, 1);
    assert_digest_at(
        &found[0],
        "2026-03-28T07:00:00Z",
        ("2026-03-27T07:00:00Z", "2026-03-28T07:00:00Z"),
    );
    drop(daemon);

    // Sunday, after the change to CEST: 08:00 is 06:00Z.
    let daemon = Daemon::start(&config, "2026-03-29T05:59:50Z");
    let found = wait_for_digests(&stack, &jane, 2);
    assert_digest_at(
        &found[1],
        "2026-03-29T06:00:00Z",
        ("2026-03-28T07:00:00Z", "2026-03-29T06:00:00Z"),
    );
    drop(daemon);

    // A restart just after the slot: that slot already has its digest.
    let daemon = Daemon::start(&config, "2026-03-29T06:00:20Z");
    wait_for_sync_after(&config, "2026-03-29T06:00:20Z");
    assert_eq!(
        digest_rows(&config),
        2,
        "no second digest for the same slot"
    );
    drop(daemon);

    // Down for two slots (Monday's and Tuesday's), back on Tuesday at 12:00: the latest missed
    // slot is sent once, covering everything since the last digest.
    let daemon = Daemon::start(&config, "2026-03-31T10:00:00Z");
    let found = wait_for_digests(&stack, &jane, 3);
    assert_digest_at(
        &found[2],
        "2026-03-31T10:00:00Z",
        ("2026-03-29T06:00:00Z", "2026-03-31T06:00:00Z"),
    );
    drop(daemon);
    let daemon = Daemon::start(&config, "2026-03-31T10:05:00Z");
    wait_for_sync_after(&config, "2026-03-31T10:05:00Z");
    drop(daemon);
    assert_eq!(digest_rows(&config), 3, "the missed slot is not sent twice");
    assert_eq!(digests_in_inbox(&stack, &jane).len(), 3);
}

/// `run --once` is one full cycle: it sends a due slot's digest, once (found in review: it never
/// did, and an owner who runs candor from a timer never got one, nor the decided closures that
/// wait for a digest to list them).
#[test]
fn run_once_sends_the_digest_of_a_due_slot_once() {
    let (stack, jane, config) = olga_asked_daily_digest_at_8();
    // Friday 07:00 in Berlin: candor follows the account from before the 08:00 slot.
    run_ok(&config, &["--now", "2026-03-27T06:00:00Z", "sync"]);
    run_ok(&config, &["--now", "2026-03-27T06:30:00Z", "run", "--once"]);
    assert_eq!(digest_rows(&config), 0, "no slot is due at 07:30");
    run_ok(&config, &["--now", "2026-03-27T07:10:00Z", "run", "--once"]);
    let found = wait_for_digests(&stack, &jane, 1);
    assert_eq!(
        period(&parse_digest(&found[0]).text),
        (
            "2026-03-26T07:00:00Z".to_owned(),
            "2026-03-27T07:00:00Z".to_owned()
        )
    );
    run_ok(&config, &["--now", "2026-03-27T07:20:00Z", "run", "--once"]);
    assert_eq!(digest_rows(&config), 1, "once per slot");
}

#[test]
fn a_closure_the_owner_decided_waits_for_a_digest_that_lists_it() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user(demo::RECRUITER).unwrap();
    let paul = stack.add_user("paul.meyer@candidates.example").unwrap();
    let (t0, t1) = (ts("2026-11-16T09:00:00Z"), ts("2026-11-17T10:00:00Z"));
    let first = message(
        "Jane Doe <jane@agency.example>",
        "Paul Meyer <paul.meyer@candidates.example>",
        "Staff Engineer role",
        "jane.paul.1@agency.example",
        t0,
        "",
        "Hi Paul,\n\nWould you be interested in a Staff Engineer role in Berlin?\n",
    );
    let reply = message(
        "Paul Meyer <paul.meyer@candidates.example>",
        "Jane Doe <jane@agency.example>",
        "Re: Staff Engineer role",
        "paul.1@candidates.example",
        t1,
        "In-Reply-To: <jane.paul.1@agency.example>\r\nReferences: <jane.paul.1@agency.example>\r\n",
        "Hi Jane,\n\nYes, I am interested. Here is my CV.\n",
    );
    stack.seed(&jane, "Sent", &[seed(first, t0)]).unwrap();
    stack.seed(&jane, "INBOX", &[seed(reply, t1)]).unwrap();
    let config = write_config(&[&|dir| {
        let toml = account_toml(
            &stack,
            "jane",
            &jane,
            dir,
            "
[account.scope]
mode = \"all\"

[account.policy]
act_on_existing = true

[account.digest]
schedule = \"weekly\"
day = \"sun\"
",
        );
        toml.replace("mode = \"dry-run\"", "mode = \"auto\"")
    }]);
    // Digests on, weekly on Sundays: no slot passes between the first sync and the end of the
    // test (`run --once` sends a due slot's digest), so the only digest is the one sent by hand.
    // Wednesday 10:00 Berlin: Jane decides; the window ends Thursday 10:00.
    let decided = "2026-11-18T09:00:00Z";
    run_ok(&config, &["--now", decided, "sync"]);
    run_ok(
        &config,
        &[
            "--now",
            decided,
            "candidate",
            "close",
            &paul.address,
            "--outcome",
            "not_selected",
        ],
    );

    // Thursday 11:00, window over, but no digest has listed the closure yet: nothing goes.
    run_ok(&config, &["--now", "2026-11-19T10:00:00Z", "run", "--once"]);
    let plan: Value = serde_json::from_str(&run_ok(
        &config,
        &["--now", "2026-11-19T10:00:00Z", "plan", "--json"],
    ))
    .unwrap();
    let held = plan["held"].as_array().unwrap();
    assert!(
        held.iter().any(|h| h["candidate"] == paul.address
            && h["gate"] == "window"
            && h["detail"].as_str().unwrap().contains("digest")),
        "{plan}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert!(
        runtime
            .block_on(stack.read_folder(&paul, "INBOX"))
            .unwrap()
            .is_empty(),
        "no closure before a digest listed it"
    );

    // The digest lists it ...
    run_ok(
        &config,
        &["--now", "2026-11-19T10:01:00Z", "digest", "--send"],
    );
    let digest = parse_digest(&wait_for_digests(&stack, &jane, 1)[0]);
    let pending = section(&digest.text, "CLOSURES YOU DECIDED");
    let line = line_with(&pending, "Paul Meyer");
    assert!(
        line.contains("closure: not selected") && line.contains("after this summary"),
        "{line}"
    );
    assert!(line_with(&pending, "to cancel it").contains("candor candidate resume paul.meyer@"));

    // ... and then the closure goes out, once.
    run_ok(&config, &["--now", "2026-11-19T10:02:00Z", "run", "--once"]);
    let closure = runtime
        .block_on(stack.wait_for_message(
            &paul,
            "INBOX",
            |m| text(&m.raw).contains("X-Candor: kind=closure_not_selected;"),
            DEADLINE,
        ))
        .unwrap();
    assert!(text(&closure.raw).contains("In-Reply-To: <paul.1@candidates.example>"));
    run_ok(&config, &["--now", "2026-11-19T10:03:00Z", "run", "--once"]);
    assert_eq!(
        runtime
            .block_on(stack.read_folder(&paul, "INBOX"))
            .unwrap()
            .len(),
        1
    );
}
