//! Follow-ups, closures and the outbox end to end (SPEC §6–§8): the real binary plans and sends
//! through the real Postfix; we read what arrived in the candidates' own Inboxes over IMAP.
//!
//! Time: `base` is the real time at the start of a test (messages Postfix delivers carry it);
//! seeded messages are dated a little after it, and `candor run --once --now base+7d` acts a week
//! later. Every day is a business day and `send_hours` is all day, except where a test says.

use std::time::Duration;

use candor::testkit::{MailStack, SeedMessage, StackUser, StoredMessage};
use jiff::{SignedDuration, Timestamp};

mod closures;
mod delivery;
mod people;

use crate::support::{TestConfig, account_toml, candor, message, text, write_config};

const ALL_DAYS: &str = r#"
[account.schedule]
business_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
send_hours = "00:00-24:00"

[account.digest]
schedule = "off"
"#;

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

fn days(d: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * d)
}

/// Now, to the second (RFC 3339 round trips exactly).
fn base() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap()
}

fn seeded(raw: &[u8], at: Timestamp) -> SeedMessage {
    SeedMessage {
        raw: raw.to_vec(),
        internal_date: at,
        flags: "S".to_owned(),
    }
}

/// Jane's account in `mode` with `extra` TOML inside the account.
fn jane_config(stack: &MailStack, jane: &StackUser, mode: &str, extra: &str) -> TestConfig {
    let extra = format!("{extra}\n{ALL_DAYS}");
    write_config(&[&|dir| {
        account_toml(stack, "jane", jane, dir, &extra)
            .replace("mode = \"dry-run\"", &format!("mode = \"{mode}\""))
    }])
}

/// `candor --now AT ARGS...`, which must succeed; returns stdout.
fn candor_at(config: &TestConfig, at: Timestamp, args: &[&str]) -> String {
    let now = at.to_string();
    let mut all = vec!["--now", now.as_str()];
    all.extend_from_slice(args);
    let out = candor(config, &all);
    assert!(
        out.status.success(),
        "candor {all:?} failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn run_once(config: &TestConfig, at: Timestamp) -> String {
    candor_at(config, at, &["run", "--once"])
}

/// One outbox row as the tests look at it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    candidate: String,
    kind: String,
    state: String,
    attempts: i64,
    last_error: String,
}

/// Every outbox row (`candor outbox list --json`), oldest first.
fn outbox(config: &TestConfig) -> Vec<Row> {
    let out = candor(config, &["outbox", "list", "--json"]);
    assert!(out.status.success(), "outbox list: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("outbox list --json: {e}: {}", text(&out.stdout)));
    let mut rows: Vec<(i64, Row)> = json
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {json}"))
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            let row = Row {
                candidate: s("candidate"),
                kind: s("kind"),
                state: s("state"),
                attempts: r["attempts"].as_i64().unwrap(),
                last_error: s("last_error"),
            };
            (r["id"].as_i64().unwrap(), row)
        })
        .collect();
    rows.sort_by_key(|(id, _)| *id);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The unfolded value of header `name` in `raw`'s header section.
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

/// The messages candor wrote (`X-Candor`) in `folder` of `user`.
async fn candor_mail(stack: &MailStack, user: &StackUser, folder: &str) -> Vec<StoredMessage> {
    stack
        .read_folder(user, folder)
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|m| header(&m.raw, "X-Candor").is_some())
        .collect()
}

/// Waits for the one follow-up of `user` and checks its threading and headers.
async fn expect_one_follow_up(
    stack: &MailStack,
    user: &StackUser,
    answered_id: &str,
    kind: &str,
) -> StoredMessage {
    let got = stack
        .wait_for_message(
            user,
            "INBOX",
            |m| header(&m.raw, "X-Candor").is_some(),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    let x = header(&got.raw, "X-Candor").unwrap();
    assert!(x.contains(&format!("kind={kind}")), "X-Candor: {x}");
    assert!(x.contains("account=jane"), "X-Candor: {x}");
    assert_eq!(
        header(&got.raw, "In-Reply-To").as_deref(),
        Some(format!("<{answered_id}>").as_str()),
        "threaded to the answered message"
    );
    let refs = header(&got.raw, "References").unwrap_or_default();
    assert!(
        refs.contains(&format!("<{answered_id}>")),
        "References: {refs}"
    );
    let to = header(&got.raw, "To").unwrap_or_default();
    assert!(to.contains(&user.address) && !to.contains(','), "To: {to}");
    let from = header(&got.raw, "From").unwrap_or_default();
    assert!(from.contains("jane@agency.example"), "From: {from}");
    let parsed = mail_parser::MessageParser::default()
        .parse(&got.raw)
        .unwrap();
    let subject = parsed.subject().unwrap_or_default();
    assert!(
        ["Re: ", "AW: "].iter().any(|p| subject.starts_with(p)),
        "a reply's subject: {subject}"
    );
    assert!(
        header(&got.raw, "X-Auto-Response-Suppress").is_some(),
        "X-Auto-Response-Suppress present"
    );
    assert_eq!(
        candor_mail(stack, user, "INBOX").await.len(),
        1,
        "exactly one automated email for {}",
        user.address
    );
    got
}

/// One owner message to `to`, seeded in Sent (and in `also`, e.g. a scope folder).
fn jane_writes(
    stack: &MailStack,
    jane: &StackUser,
    to: &str,
    id: &str,
    at: Timestamp,
    body: &str,
    also: &[&str],
) -> Vec<u8> {
    let raw = message(
        "Jane Doe <jane@agency.example>",
        to,
        "Backend role at Acme",
        id,
        at,
        "",
        body,
    );
    stack.seed(jane, "Sent", &[seeded(&raw, at)]).unwrap();
    for folder in also {
        stack.seed(jane, folder, &[seeded(&raw, at)]).unwrap();
    }
    raw
}

/// A message to Jane, seeded in her Inbox (and in `also`).
#[allow(clippy::too_many_arguments)]
fn to_jane(
    stack: &MailStack,
    jane: &StackUser,
    from: &str,
    id: &str,
    at: Timestamp,
    headers: &str,
    body: &str,
    also: &[&str],
) {
    let raw = message(
        from,
        "Jane Doe <jane@agency.example>",
        "Re: Backend role at Acme",
        id,
        at,
        headers,
        body,
    );
    stack.seed(jane, "INBOX", &[seeded(&raw, at)]).unwrap();
    for folder in also {
        stack.seed(jane, folder, &[seeded(&raw, at)]).unwrap();
    }
}

/// The issue's main scene: one silent candidate among everyone who must get nothing.
#[tokio::test(flavor = "multi_thread")]
async fn only_the_silent_candidate_gets_one_follow_up_threaded_to_the_owner() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let user = |a: &str| stack.add_user(a).unwrap();
    let ann = user("ann@candidates.example");
    let quiet = [
        user("bob@candidates.example"),
        user("cat@candidates.example"),
        user("jobs@lists.example"),
        user("no-reply@candidates.example"),
        user("sam@agency.example"),
        user("carl@client.example"),
        user("oscar@candidates.example"),
        user("dora@candidates.example"),
    ];
    let scope = "\n[account.scope]\nmode = \"folders\"\nfolders = [\"Candidates\"]\nexclude = [\"client.example\"]\n";
    let config = jane_config(&stack, &jane, "auto", scope);
    let t0 = base();
    let c = &["Candidates"][..];

    // Dora's conversation predates the first sync: the activation horizon keeps it quiet.
    jane_writes(
        &stack,
        &jane,
        "dora@candidates.example",
        "dora1@agency.example",
        t0 - days(3),
        "Hi Dora, would you be open to a chat?",
        c,
    );
    candor_at(&config, t0, &["sync"]);

    // Ann: first contact with a question, then silence.
    jane_writes(
        &stack,
        &jane,
        "Ann Lee <ann@candidates.example>",
        "ann1@agency.example",
        t0 + hours(1),
        "Hi Ann, would you be open to a chat about a backend role?",
        c,
    );
    // Bob answered.
    jane_writes(
        &stack,
        &jane,
        "bob@candidates.example",
        "bob1@agency.example",
        t0 + hours(1),
        "Hi Bob, would you be open to a chat?",
        c,
    );
    to_jane(
        &stack,
        &jane,
        "Bob Roe <bob@candidates.example>",
        "bob2@candidates.example",
        t0 + days(1),
        "In-Reply-To: <bob1@agency.example>\r\nReferences: <bob1@agency.example>\r\n",
        "Yes, happy to talk next week.",
        c,
    );
    // Cat is away until after the run.
    jane_writes(
        &stack,
        &jane,
        "cat@candidates.example",
        "cat1@agency.example",
        t0 + hours(1),
        "Hi Cat, would you be open to a chat?",
        c,
    );
    let back = (t0 + days(12))
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .strftime("%-d %B %Y")
        .to_string();
    to_jane(
        &stack,
        &jane,
        "Cat Poe <cat@candidates.example>",
        "cat2@candidates.example",
        t0 + hours(1) + SignedDuration::from_mins(2),
        "In-Reply-To: <cat1@agency.example>\r\nAuto-Submitted: auto-replied\r\n",
        &format!("I am out of the office until {back} with limited access to email."),
        c,
    );
    // A mailing list Jane answered.
    to_jane(
        &stack,
        &jane,
        "Jobs list <jobs@lists.example>",
        "list1@lists.example",
        t0 + hours(1),
        "List-Id: <jobs.lists.example>\r\nPrecedence: list\r\n",
        "New roles this week.",
        c,
    );
    let list_reply = message(
        "Jane Doe <jane@agency.example>",
        "jobs@lists.example",
        "Re: Backend role at Acme",
        "list2@agency.example",
        t0 + hours(2),
        "In-Reply-To: <list1@lists.example>\r\nReferences: <list1@lists.example>\r\n",
        "Is the first role still open?",
    );
    for folder in ["Sent", "Candidates"] {
        stack
            .seed(&jane, folder, &[seeded(&list_reply, t0 + hours(2))])
            .unwrap();
    }
    // A no-reply sender Jane answered.
    to_jane(
        &stack,
        &jane,
        "Careers <no-reply@candidates.example>",
        "nr1@candidates.example",
        t0 + hours(1),
        "",
        "Your application was received.",
        c,
    );
    jane_writes(
        &stack,
        &jane,
        "no-reply@candidates.example",
        "nr2@agency.example",
        t0 + hours(2),
        "Could you confirm the interview date?",
        c,
    );
    // A colleague, an excluded client, and a correspondent outside the scope folder.
    for (to, id) in [
        ("sam@agency.example", "sam1@agency.example"),
        ("carl@client.example", "carl1@agency.example"),
    ] {
        jane_writes(&stack, &jane, to, id, t0 + hours(1), "Can we talk?", c);
    }
    jane_writes(
        &stack,
        &jane,
        "oscar@candidates.example",
        "oscar1@agency.example",
        t0 + hours(1),
        "Hi Oscar, would you be open to a chat?",
        &[],
    );
    // A real bounce: Postfix answers Jane's message to a missing user with a DSN in her Inbox.
    let bounced = jane_writes(
        &stack,
        &jane,
        "nobody@candidates.example",
        "nobody1@agency.example",
        base(),
        "Hi, would you be open to a chat?",
        c,
    );
    stack
        .submit(
            &jane,
            "jane@agency.example",
            &["nobody@candidates.example"],
            &bounced,
        )
        .await
        .unwrap();
    stack
        .wait_for_message(
            &jane,
            "INBOX",
            |m| String::from_utf8_lossy(&m.raw).contains("nobody1@agency.example"),
            Duration::from_secs(20),
        )
        .await
        .unwrap();

    let t1 = t0 + days(7);
    // Before acting, the plan says why each one gets nothing.
    candor_at(&config, t1, &["sync"]);
    let plan: serde_json::Value =
        serde_json::from_str(&candor_at(&config, t1, &["plan", "--json"])).unwrap();
    let entry = |list: &str, who: &str| {
        plan[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["candidate"] == who)
            .cloned()
    };
    let ann_plan = entry("planned", "ann@candidates.example").expect("ann planned");
    assert_eq!(ann_plan["kind"], "follow_up_1", "{plan}");
    assert_eq!(ann_plan["due_now"], true, "{plan}");
    let cat_plan = entry("planned", "cat@candidates.example").expect("cat planned later");
    assert_eq!(cat_plan["state"], "paused", "away: {plan}");
    assert_eq!(cat_plan["due_now"], false, "away: {plan}");
    for (who, gate, state) in [
        ("nobody@candidates.example", "state", "bounced"),
        ("carl@client.example", "scope", "awaiting_candidate"),
        ("oscar@candidates.example", "scope", "awaiting_candidate"),
    ] {
        let held = entry("held", who).unwrap_or_else(|| panic!("{who} held: {plan}"));
        assert_eq!(
            (&held["gate"], &held["state"]),
            (&gate.into(), &state.into()),
            "{held}"
        );
    }
    for who in [
        "bob@candidates.example",
        "dora@candidates.example",
        "jobs@lists.example",
        "no-reply@candidates.example",
        "sam@agency.example",
    ] {
        assert!(entry("planned", who).is_none(), "{who} not planned: {plan}");
    }

    let out = run_once(&config, t1);
    assert!(out.contains("1 sent"), "{out}");
    expect_one_follow_up(&stack, &ann, "ann1@agency.example", "follow_up_1").await;
    let rows = outbox(&config);
    assert_eq!(rows.len(), 1, "one row only: {rows:?}");
    assert_eq!(rows[0].candidate, "ann@candidates.example");
    assert_eq!(rows[0].kind, "follow_up_1");
    assert_eq!(rows[0].state, "sent");
    assert_eq!(rows[0].attempts, 1);
    // Jane's Sent holds the copy.
    let copies = candor_mail(&stack, &jane, "Sent").await;
    assert_eq!(copies.len(), 1, "one copy in Sent");

    // Further cycles send nothing more.
    for later in [t1 + hours(1), t1 + hours(3)] {
        let out = run_once(&config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    assert_eq!(candor_mail(&stack, &ann, "INBOX").await.len(), 1);
    assert_eq!(outbox(&config).len(), 1);
    for quiet in &quiet {
        assert!(
            candor_mail(&stack, quiet, "INBOX").await.is_empty(),
            "nothing reached {}",
            quiet.address
        );
    }
    assert_eq!(candor_mail(&stack, &jane, "Sent").await.len(), 1);
}

/// Candidates who write from work with `Reply-To:` their private address, answered there by
/// Jane's mail client: Eve answered Jane's question from work and gets nothing; Fay went quiet
/// and is followed up at the address she asked to be answered at, never at work.
#[tokio::test(flavor = "multi_thread")]
async fn a_candidates_reply_to_is_theirs_answered_there_and_followed_up_there() {
    let stack =
        MailStack::start_with_domains(&["agency.example", "work.example", "home.example"]).unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let user = |a: &str| stack.add_user(a).unwrap();
    let (eve_work, eve_home) = (user("eve@work.example"), user("eve@home.example"));
    let (fay_work, fay_home) = (user("fay@work.example"), user("fay@home.example"));
    let config = jane_config(&stack, &jane, "auto", "\n[account.scope]\nmode = \"all\"\n");
    let t0 = base();
    candor_at(&config, t0, &["sync"]);

    let reply_to = |home: &str, parent: Option<&str>| {
        let threading = parent
            .map(|p| format!("In-Reply-To: <{p}>\r\nReferences: <{p}>\r\n"))
            .unwrap_or_default();
        format!("Reply-To: {home}\r\n{threading}")
    };
    for (name, work, home) in [
        ("Eve Moss", "eve@work.example", "eve@home.example"),
        ("Fay Lund", "fay@work.example", "fay@home.example"),
    ] {
        let who = &work[..3];
        to_jane(
            &stack,
            &jane,
            &format!("{name} <{work}>"),
            &format!("{who}1@work.example"),
            t0 + hours(1),
            &reply_to(home, None),
            "I saw the backend role. Is it remote?",
            &[],
        );
        let answer = message(
            "Jane Doe <jane@agency.example>",
            home,
            "Re: Backend role at Acme",
            &format!("{who}2@agency.example"),
            t0 + hours(2),
            &format!("In-Reply-To: <{who}1@work.example>\r\nReferences: <{who}1@work.example>\r\n"),
            "Mostly remote. Would Thursday suit you for a call?",
        );
        stack
            .seed(&jane, "Sent", &[seeded(&answer, t0 + hours(2))])
            .unwrap();
    }
    // Eve answers from work, her Reply-To set as before.
    to_jane(
        &stack,
        &jane,
        "Eve Moss <eve@work.example>",
        "eve3@work.example",
        t0 + hours(5),
        &reply_to("eve@home.example", Some("eve2@agency.example")),
        "Thursday is fine.",
        &[],
    );

    let t1 = t0 + days(7);
    candor_at(&config, t1, &["sync"]);
    let plan: serde_json::Value =
        serde_json::from_str(&candor_at(&config, t1, &["plan", "--json"])).unwrap();
    let planned = plan["planned"].as_array().unwrap();
    assert_eq!(planned.len(), 1, "Fay's follow-up alone: {plan}");
    assert_eq!(planned[0]["candidate"], "fay@work.example", "{plan}");
    assert_eq!(planned[0]["to"], "fay@home.example", "{plan}");
    assert_eq!(planned[0]["kind"], "follow_up_1", "{plan}");

    let out = run_once(&config, t1);
    assert!(out.contains("1 sent"), "{out} {:?}", outbox(&config));
    // Postfix delivers after it accepted: wait for it (polling, 20 s at most).
    let got = stack
        .wait_for_message(
            &fay_home,
            "INBOX",
            |m| header(&m.raw, "X-Candor").is_some(),
            Duration::from_secs(20),
        )
        .await
        .expect("Fay's follow-up at home");
    assert_eq!(
        header(&got.raw, "In-Reply-To").as_deref(),
        Some("<fay2@agency.example>")
    );
    assert_eq!(candor_mail(&stack, &fay_home, "INBOX").await.len(), 1);
    let rows = outbox(&config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].candidate, "fay@work.example");
    for quiet in [&eve_work, &eve_home, &fay_work] {
        assert!(
            candor_mail(&stack, quiet, "INBOX").await.is_empty(),
            "nothing reached {}",
            quiet.address
        );
    }
}

/// Jane wrote to Ann at `t0 + 1h` and heard nothing; `t0 + 7d` is a week later.
pub(super) struct Silent {
    stack: MailStack,
    jane: StackUser,
    ann: StackUser,
    config: TestConfig,
    t0: Timestamp,
}

impl Silent {
    fn t1(&self) -> Timestamp {
        self.t0 + days(7)
    }

    /// Jane asked Bob too, at the same time as Ann; he never answered either.
    fn bob_asked_too(&self) -> StackUser {
        let bob = self.stack.add_user("bob@candidates.example").unwrap();
        jane_writes(
            &self.stack,
            &self.jane,
            "Bob Roe <bob@candidates.example>",
            "bob1@agency.example",
            self.t0 + hours(1),
            "Hi Bob, would you be open to a chat?",
            &[],
        );
        bob
    }
}

pub(super) fn silent_ann(mode: &str, extra: &str) -> Silent {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let ann = stack.add_user("ann@candidates.example").unwrap();
    let scope = format!("\n[account.scope]\nmode = \"all\"\n{extra}");
    let config = jane_config(&stack, &jane, mode, &scope);
    let t0 = base();
    jane_writes(
        &stack,
        &jane,
        "Ann Lee <ann@candidates.example>",
        "ann1@agency.example",
        t0 + hours(1),
        "Hi Ann, would you be open to a chat about a backend role?",
        &[],
    );
    candor_at(&config, t0, &["sync"]);
    Silent {
        stack,
        jane,
        ann,
        config,
        t0,
    }
}
