//! Conversations on the demo mailbox through the real binary: `candidates`, `candidate show`,
//! `candidate merge`, `candidate add` under an explicit scope, and the latency of `stats --json`
//! (SPEC §4, §5, §11).

use candor::testkit::{MailStack, StackUser, demo};
use serde_json::Value;

use crate::support::{TestConfig, account_toml, candor, stats, text, write_config};

/// A stack with Jane's demo mailbox seeded as `candor-stack seed-demo` does.
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
        // UIDs rise with arrival time in a real mailbox.
        messages.sort_by_key(|m| m.internal_date);
        stack.seed(&jane, folder, &messages).unwrap();
    }
    (stack, jane)
}

fn synced(stack: &MailStack, jane: &StackUser, scope: &str) -> TestConfig {
    let config = write_config(&[&|dir| account_toml(stack, "jane", jane, dir, scope)]);
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "sync failed: {}", text(&out.stderr));
    config
}

fn candidates(config: &TestConfig) -> Vec<Value> {
    let out = candor(config, &["candidates", "--json"]);
    assert!(out.status.success(), "candidates: {}", text(&out.stderr));
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn row<'a>(rows: &'a [Value], address: &str) -> Option<&'a Value> {
    rows.iter().find(|r| {
        r["address"] == address
            || r["addresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == address))
    })
}

fn run_ok(config: &TestConfig, args: &[&str]) -> String {
    let out = candor(config, args);
    assert!(
        out.status.success(),
        "candor {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn candidates_show_merge_and_stats_on_the_demo_mailbox() {
    let (stack, jane) = demo_stack();
    let config = synced(
        &stack,
        &jane,
        "\n[account.scope]\nexclude = [\"client.example\"]\n",
    );

    let rows = candidates(&config);
    for r in &rows {
        for key in [
            "account",
            "address",
            "name",
            "state",
            "waiting_on",
            "since",
            "candidate_median_s",
            "recruiter_median_s",
            "in_scope",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert_eq!(r["account"], "jane");
        assert!(
            // The states of SPEC §6.
            [
                "awaiting_candidate",
                "awaiting_recruiter",
                "paused",
                "held",
                "closed",
                "bounced",
                "opted_out"
            ]
            .contains(&r["state"].as_str().unwrap()),
            "{r}"
        );
    }
    for never in [
        "tom@agency.example",
        "priya@lists.example",
        "recruiters@lists.example",
        "noreply@jobs.example",
    ] {
        assert!(
            row(&rows, never).is_none(),
            "{never} is a candidate: {rows:?}"
        );
    }
    let alice = row(&rows, "alice.martin@candidates.example").expect("alice is a candidate");
    assert_eq!(alice["state"], "awaiting_recruiter", "{alice}");
    assert_eq!(alice["waiting_on"], "recruiter", "{alice}");
    assert_eq!(alice["name"], "Alice Martin", "{alice}");
    assert!(alice["since"].is_string(), "{alice}");
    assert_eq!(alice["in_scope"], true, "{alice}");
    let erik = row(&rows, "erik.larsen@candidates.example").expect("cold outreach counts");
    assert_eq!(erik["state"], "awaiting_candidate", "{erik}");
    let mark = row(&rows, "mark.evans@client.example").expect("the client is tracked");
    assert_eq!(mark["in_scope"], false, "scope.exclude: {mark}");

    // candidate show: a header line, then one line per message with the wait notes.
    let show = run_ok(
        &config,
        &["candidate", "show", "alice.martin@candidates.example"],
    );
    let lines: Vec<&str> = show.lines().collect();
    assert!(
        lines[0].contains("Alice Martin <alice.martin@candidates.example>"),
        "{show}"
    );
    assert!(lines[0].contains("in scope"), "{show}");
    let timeline: Vec<&&str> = lines.iter().filter(|l| l.contains(" thread ")).collect();
    assert_eq!(timeline.len(), 2, "{show}");
    assert!(
        timeline[0].contains("you") && timeline[0].contains("opens a wait"),
        "{show}"
    );
    assert!(
        timeline[1].contains("candidate") && timeline[1].contains("answers after"),
        "{show}"
    );
    assert!(show.contains("waiting on you"), "{show}");

    // candidate merge: Julia's private address joins her first conversation.
    let (work, private) = ("julia.novak@candidates.example", "julia.n@mailbox.example");
    let before = candidates(&config).len();
    assert_ne!(
        row(&rows, work).unwrap()["address"],
        row(&rows, private).unwrap()["address"]
    );
    run_ok(&config, &["candidate", "merge", work, private]);
    let rows = candidates(&config);
    assert_eq!(rows.len(), before - 1, "merge leaves one conversation");
    let julia = row(&rows, work).unwrap();
    assert_eq!(julia["address"], work, "{julia}");
    assert_eq!(
        julia["addresses"],
        serde_json::json!([work, private]),
        "{julia}"
    );
    assert_eq!(
        julia["state"], "awaiting_recruiter",
        "her answer closed the wait: {julia}"
    );

    // stats --json: threads, candidates and latency both ways.
    let s = stats(&config, "jane");
    assert!(s["threads"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(
        s["candidates"].as_u64().unwrap() as usize,
        rows.len(),
        "{s}"
    );
    let latency = &s["latency"];
    for direction in ["recruiter_reply", "candidate_reply"] {
        for key in [
            "median_s",
            "p90_s",
            "n",
            "business_median_s",
            "business_p90_s",
        ] {
            assert!(
                latency[direction].get(key).is_some(),
                "{direction}.{key}: {s}"
            );
        }
        assert!(
            latency[direction]["n"].as_u64().unwrap() > 0,
            "{direction}: {s}"
        );
        assert!(latency[direction]["median_s"].is_i64(), "{direction}: {s}");
    }
    let open = latency["open_waits"].as_array().unwrap();
    assert!(!open.is_empty(), "{s}");
    for w in open {
        for key in ["candidate", "direction", "since", "age_s"] {
            assert!(w.get(key).is_some(), "{key} missing in {w}");
        }
        assert!(w["age_s"].as_i64().unwrap() > 0, "{w}");
    }
    assert!(
        open.iter()
            .any(|w| w["candidate"] == "alice.martin@candidates.example"
                && w["direction"] == "recruiter_reply"),
        "{s}"
    );

    // --since/--until change the window, hence n.
    let n = |s: &Value, direction: &str| s["latency"][direction]["n"].as_u64().unwrap();
    let window = |args: &[&str]| {
        let mut all = vec!["stats", "--json"];
        all.extend_from_slice(args);
        let json: Value = serde_json::from_str(&run_ok(&config, &all)).unwrap();
        json["accounts"][0].clone()
    };
    let tomorrow = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24)).to_string();
    let empty = window(&["--since", &tomorrow]);
    assert_eq!(n(&empty, "recruiter_reply"), 0, "{empty}");
    assert_eq!(n(&empty, "candidate_reply"), 0, "{empty}");
    assert!(
        empty["latency"]["recruiter_reply"]["median_s"].is_null(),
        "{empty}"
    );
    let long_ago = window(&["--since", "2000-01-01", "--until", "2000-02-01"]);
    assert_eq!(n(&long_ago, "candidate_reply"), 0, "{long_ago}");
    let everything = window(&["--since", "2000-01-01"]);
    assert_eq!(n(&everything, "recruiter_reply"), n(&s, "recruiter_reply"));
    assert_eq!(n(&everything, "candidate_reply"), n(&s, "candidate_reply"));
    // --until alone: the 90 days before it, however far now is (found in review: the start
    // was counted back from now, and a year later the same --until gave an empty window).
    let a_year_on =
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 365)).to_string();
    let until_only = window(&["--now", &a_year_on, "--until", &tomorrow]);
    assert_eq!(
        n(&until_only, "recruiter_reply"),
        n(&s, "recruiter_reply"),
        "{until_only}"
    );
    assert_eq!(
        n(&until_only, "candidate_reply"),
        n(&s, "candidate_reply"),
        "{until_only}"
    );
}

#[test]
fn candidate_add_puts_a_candidate_in_an_explicit_scope() {
    let (stack, jane) = demo_stack();
    let config = synced(&stack, &jane, "\n[account.scope]\nmode = \"explicit\"\n");
    let rows = candidates(&config);
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|r| r["in_scope"] == false),
        "nobody is in an explicit scope before `candidate add`: {rows:?}"
    );
    run_ok(
        &config,
        &["candidate", "add", "alice.martin@candidates.example"],
    );
    let rows = candidates(&config);
    let in_scope: Vec<&Value> = rows.iter().filter(|r| r["in_scope"] == true).collect();
    assert_eq!(in_scope.len(), 1, "{rows:?}");
    assert_eq!(in_scope[0]["address"], "alice.martin@candidates.example");
}
