//! Sending one follow-up: drafts mode, refusals by Postfix (550, 451), retries, the send
//! window, the second follow-up, and what arrives byte for byte.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn drafts_mode_leaves_one_draft_in_drafts_and_sends_nothing() {
    let s = silent_ann("drafts", "");
    let out = run_once(&s.config, s.t1());
    assert!(out.contains("1 drafted"), "{out}");
    let drafts = candor_mail(&s.stack, &s.jane, "Drafts").await;
    assert_eq!(drafts.len(), 1, "one draft");
    let draft = &drafts[0];
    assert!(
        draft.flags.iter().any(|f| f == "\\Draft"),
        "{:?}",
        draft.flags
    );
    assert_eq!(
        header(&draft.raw, "In-Reply-To").as_deref(),
        Some("<ann1@agency.example>")
    );
    assert!(
        header(&draft.raw, "To")
            .unwrap()
            .contains("ann@candidates.example")
    );
    let rows = outbox(&s.config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].kind.as_str(), rows[0].state.as_str()),
        ("follow_up_1", "drafted")
    );

    // Later cycles neither send nor draft again while the draft waits for the owner.
    for later in [s.t1() + hours(1), s.t1() + days(6)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent, 0 drafted"), "{out}");
    }
    assert_eq!(candor_mail(&s.stack, &s.jane, "Drafts").await.len(), 1);
    assert!(
        candor_mail(&s.stack, &s.jane, "Sent").await.is_empty(),
        "nothing sent"
    );
    assert!(
        s.stack
            .read_folder(&s.ann, "INBOX")
            .await
            .unwrap()
            .is_empty(),
        "nothing reached Ann"
    );
    assert_eq!(outbox(&s.config).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn postfix_550_marks_the_row_failed_reports_it_and_never_retries() {
    let s = silent_ann("auto", "");
    s.stack
        .refuse_recipient("ann@candidates.example", 550, "5.7.1 no thanks")
        .unwrap();
    let out = candor(&s.config, &["--now", &s.t1().to_string(), "run", "--once"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 failed"),
        "{}",
        text(&out.stdout)
    );
    let log = text(&out.stderr);
    assert!(
        log.contains("WARN") && log.contains("no thanks"),
        "warned: {log}"
    );
    let rows = outbox(&s.config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].state, "failed");
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].last_error.contains("no thanks"), "{rows:?}");

    // Reported by plan: the conversation is held for the owner, so no "once more" follow-up
    // goes to an address that refused the first one.
    let plan: serde_json::Value =
        serde_json::from_str(&candor_at(&s.config, s.t1(), &["plan", "--json"])).unwrap();
    let held = &plan["held"][0];
    assert_eq!(held["candidate"], "ann@candidates.example", "{plan}");
    assert_eq!(
        (&held["gate"], &held["state"]),
        (&"state".into(), &"held".into()),
        "{plan}"
    );
    assert!(
        held["detail"].as_str().unwrap().contains("failed"),
        "{plan}"
    );
    assert!(plan["planned"].as_array().unwrap().is_empty(), "{plan}");

    // Even once Postfix would accept, a failed email is not retried nor planned again.
    s.stack.clear_refusals().unwrap();
    for later in [s.t1() + hours(1), s.t1() + days(6), s.t1() + days(20)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    let rows = outbox(&s.config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("failed", 1));
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());
    assert!(candor_mail(&s.stack, &s.jane, "Sent").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn postfix_451_then_success_delivers_exactly_once() {
    let s = silent_ann("auto", "");
    s.stack
        .refuse_recipient("ann@candidates.example", 451, "4.3.0 try again later")
        .unwrap();
    let out = run_once(&s.config, s.t1());
    assert!(
        out.contains("0 sent") && out.contains("1 to retry"),
        "{out}"
    );
    let rows = outbox(&s.config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("queued", 1));

    s.stack.clear_refusals().unwrap();
    let out = run_once(&s.config, s.t1() + hours(1));
    assert!(out.contains("0 queued, 1 sent"), "{out}");
    expect_one_follow_up(&s.stack, &s.ann, "ann1@agency.example", "follow_up_1").await;
    let rows = outbox(&s.config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!((rows[0].state.as_str(), rows[0].attempts), ("sent", 2));

    let out = run_once(&s.config, s.t1() + hours(2));
    assert!(out.contains("0 queued, 0 sent"), "{out}");
    assert_eq!(candor_mail(&s.stack, &s.ann, "INBOX").await.len(), 1);
    assert_eq!(candor_mail(&s.stack, &s.jane, "Sent").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_arriving_between_retries_cancels_the_queued_follow_up() {
    let s = silent_ann("auto", "");
    s.stack
        .refuse_recipient("ann@candidates.example", 451, "4.3.0 try again later")
        .unwrap();
    let out = run_once(&s.config, s.t1());
    assert!(out.contains("1 to retry"), "{out}");
    s.stack.clear_refusals().unwrap();
    // Ann answers before the retry: the fresh sync at send time must see it.
    to_jane(
        &s.stack,
        &s.jane,
        "Ann Lee <ann@candidates.example>",
        "ann2@candidates.example",
        s.t1() + SignedDuration::from_mins(30),
        "In-Reply-To: <ann1@agency.example>\r\n",
        "Sorry for the delay, yes please!",
        &[],
    );
    let out = run_once(&s.config, s.t1() + hours(1));
    assert!(
        out.contains("0 sent") && out.contains("1 cancelled"),
        "{out}"
    );
    let rows = outbox(&s.config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].state, "cancelled", "{rows:?}");
    run_once(&s.config, s.t1() + days(8));
    assert_eq!(outbox(&s.config).len(), 1);
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_owner_cancels_a_queued_follow_up_and_it_never_goes_out() {
    let s = silent_ann("auto", "");
    s.stack
        .refuse_recipient("ann@candidates.example", 451, "4.3.0 try again later")
        .unwrap();
    run_once(&s.config, s.t1());
    let out = candor(&s.config, &["outbox", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = json[0]["id"].as_i64().unwrap().to_string();
    candor_at(&s.config, s.t1() + hours(1), &["outbox", "cancel", &id]);
    s.stack.clear_refusals().unwrap();
    // Nor a "once more" follow-up to someone who never got the first.
    for later in [s.t1() + hours(2), s.t1() + days(6), s.t1() + days(20)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    let rows = outbox(&s.config);
    assert_eq!(rows.len(), 1, "not planned again: {rows:?}");
    assert_eq!(rows[0].state, "cancelled");
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_follow_up_five_business_days_later_then_nothing_ever() {
    let s = silent_ann("auto", "");
    run_once(&s.config, s.t1());
    expect_one_follow_up(&s.stack, &s.ann, "ann1@agency.example", "follow_up_1").await;
    let out = run_once(&s.config, s.t1() + days(3));
    assert!(out.contains("0 queued, 0 sent"), "too early: {out}");
    let out = run_once(&s.config, s.t1() + days(6));
    assert!(out.contains("1 sent"), "{out}");
    let (ok, _) = crate::support::wait_until(Duration::from_secs(20), || {
        futures::executor::block_on(candor_mail(&s.stack, &s.ann, "INBOX")).len() == 2
    });
    assert!(ok, "the second follow-up arrived");
    let mail = candor_mail(&s.stack, &s.ann, "INBOX").await;
    let second = mail
        .iter()
        .find(|m| header(&m.raw, "X-Candor").is_some_and(|x| x.contains("kind=follow_up_2")))
        .expect("follow_up_2");
    // It follows up the owner's message, not candor's own first nudge.
    assert_eq!(
        header(&second.raw, "In-Reply-To").as_deref(),
        Some("<ann1@agency.example>")
    );
    // Cold outreach gets follow-ups, never a closure after silence; nothing after the cap.
    for later in [s.t1() + days(14), s.t1() + days(30)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    let kinds: Vec<String> = outbox(&s.config).into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["follow_up_1", "follow_up_2"]);
    assert_eq!(candor_mail(&s.stack, &s.ann, "INBOX").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn non_ascii_names_and_a_german_reply_subject_arrive_intact() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let zoe = stack.add_user("zoe@candidates.example").unwrap();
    let config = jane_config(&stack, &jane, "auto", "\n[account.scope]\nmode = \"all\"\n");
    let t0 = base();
    candor_at(&config, t0, &["sync"]);
    // Zoë wrote first (RFC 2047 words), Jane answered with a question, then silence.
    let first = message(
        "=?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@candidates.example>",
        "jane@agency.example",
        "=?utf-8?q?Bewerbung_als_Entwicklerin_in_M=C3=BCnchen?=",
        "zoe1@candidates.example",
        t0 + hours(1),
        "",
        "Guten Tag, anbei mein Lebenslauf.",
    );
    stack
        .seed(&jane, "INBOX", &[seeded(&first, t0 + hours(1))])
        .unwrap();
    let answer = message(
        "Jane Doe <jane@agency.example>",
        "=?utf-8?q?Zo=C3=AB_M=C3=BCller?= <zoe@candidates.example>",
        "=?utf-8?q?AW=3A_Bewerbung_als_Entwicklerin_in_M=C3=BCnchen?=",
        "zoe2@agency.example",
        t0 + hours(2),
        "In-Reply-To: <zoe1@candidates.example>\r\nReferences: <zoe1@candidates.example>\r\n",
        "Danke! Passt Ihnen ein Gespräch am Dienstag?",
    );
    stack
        .seed(&jane, "Sent", &[seeded(&answer, t0 + hours(2))])
        .unwrap();
    let out = run_once(&config, t0 + days(7));
    assert!(out.contains("1 sent"), "{out}");
    let got = expect_one_follow_up(&stack, &zoe, "zoe2@agency.example", "follow_up_1").await;
    let refs = header(&got.raw, "References").unwrap();
    assert!(
        refs.contains("<zoe1@candidates.example>") && refs.contains("<zoe2@agency.example>"),
        "the whole chain: {refs}"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(&got.raw)
        .unwrap();
    assert_eq!(
        parsed.subject(),
        Some("AW: Bewerbung als Entwicklerin in München"),
        "no second prefix, umlauts intact"
    );
    let to = parsed.to().and_then(|a| a.first()).unwrap();
    assert_eq!(to.name(), Some("Zoë Müller"));
    let body = parsed.body_text(0).unwrap_or_default().into_owned();
    assert!(body.contains("Zoë"), "greets by first name: {body}");
    assert!(!body.contains("=?utf-8"), "no raw encoded words: {body}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_goes_out_on_a_weekend_or_outside_send_hours() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let ann = stack.add_user("ann@candidates.example").unwrap();
    // The defaults: Monday to Friday, 09:00-17:00 Europe/Berlin. (ALL_DAYS comes after and
    // would override, so this account gets its own schedule in place of it.)
    let config = write_config(&[&|dir| {
        account_toml(
            &stack,
            "jane",
            &jane,
            dir,
            "\n[account.scope]\nmode = \"all\"\n\n[account.digest]\nschedule = \"off\"\n",
        )
        .replace("mode = \"dry-run\"", "mode = \"auto\"")
    }]);
    let t0 = base();
    candor_at(&config, t0, &["sync"]);
    jane_writes(
        &stack,
        &jane,
        "Ann Lee <ann@candidates.example>",
        "ann1@agency.example",
        t0 + hours(1),
        "Hi Ann, would you be open to a chat?",
        &[],
    );
    // The second Saturday after t0, 10:00 in Berlin: well past five business days.
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let mut day = (t0 + days(8)).to_zoned_datetime(berlin.clone()).date();
    while day.weekday() != jiff::civil::Weekday::Saturday {
        day = day.tomorrow().unwrap();
    }
    let local = |d: jiff::civil::Date, h: i8, m: i8| {
        d.at(h, m, 0, 0)
            .to_zoned_datetime(berlin.clone())
            .unwrap()
            .timestamp()
    };
    let monday = day.tomorrow().unwrap().tomorrow().unwrap();
    for at in [
        local(day, 10, 0),
        local(monday, 7, 30),
        local(monday, 17, 30),
    ] {
        let out = run_once(&config, at);
        assert!(out.contains("0 sent"), "{at}: {out}");
    }
    assert!(candor_mail(&stack, &ann, "INBOX").await.is_empty());
    let out = run_once(&config, local(monday.tomorrow().unwrap(), 9, 30));
    assert!(out.contains("1 sent"), "{out}");
    expect_one_follow_up(&stack, &ann, "ann1@agency.example", "follow_up_1").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_the_owner_sent_counts_and_the_next_one_follows_it() {
    let s = silent_ann("drafts", "");
    run_once(&s.config, s.t1());
    assert_eq!(candor_mail(&s.stack, &s.jane, "Drafts").await.len(), 1);
    // Jane sends the draft from her mail client, which drops candor's headers.
    let sent = s.t1() + hours(1);
    let rewritten = message(
        "Jane Doe <jane@agency.example>",
        "Ann Lee <ann@candidates.example>",
        "Re: Backend role at Acme",
        "ann-nudge@agency.example",
        sent,
        "In-Reply-To: <ann1@agency.example>\r\nReferences: <ann1@agency.example>\r\n",
        "Hi Ann, just checking in: are you still interested?",
    );
    s.stack
        .seed(&s.jane, "Sent", &[seeded(&rewritten, sent)])
        .unwrap();
    let out = run_once(&s.config, s.t1() + hours(2));
    assert!(out.contains("0 queued, 0 sent, 0 drafted"), "{out}");
    let out = run_once(&s.config, s.t1() + days(3));
    assert!(
        out.contains("0 drafted"),
        "spaced from the sent draft: {out}"
    );
    let out = run_once(&s.config, s.t1() + days(6));
    assert!(out.contains("1 drafted"), "{out}");
    let drafts = candor_mail(&s.stack, &s.jane, "Drafts").await;
    assert_eq!(drafts.len(), 2, "a second draft");
    let second = drafts
        .iter()
        .find(|m| header(&m.raw, "X-Candor").is_some_and(|x| x.contains("follow_up_2")))
        .expect("the second draft is follow_up_2");
    assert_eq!(
        header(&second.raw, "In-Reply-To").as_deref(),
        Some("<ann-nudge@agency.example>"),
        "it follows the message the owner actually sent"
    );
    let out = run_once(&s.config, s.t1() + days(30));
    assert!(out.contains("0 queued, 0 sent, 0 drafted"), "{out}");
    assert_eq!(candor_mail(&s.stack, &s.jane, "Drafts").await.len(), 2);
    assert!(
        s.stack
            .read_folder(&s.ann, "INBOX")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_cap_sends_the_rest_the_next_day() {
    let s = silent_ann("auto", "");
    let toml = std::fs::read_to_string(&s.config.path).unwrap();
    let capped = toml.replace(
        "send_hours = \"00:00-24:00\"",
        "send_hours = \"00:00-24:00\"\ndaily_cap = 1",
    );
    assert_ne!(toml, capped);
    std::fs::write(&s.config.path, capped).unwrap();
    let bob = s.bob_asked_too();
    // 10:00 and 11:00 in Berlin a week later, then 10:00 the next day.
    let berlin = jiff::tz::TimeZone::get("Europe/Berlin").unwrap();
    let day = s.t1().to_zoned_datetime(berlin.clone()).date();
    let local = |d: jiff::civil::Date, h: i8| {
        d.at(h, 0, 0, 0)
            .to_zoned_datetime(berlin.clone())
            .unwrap()
            .timestamp()
    };
    let out = run_once(&s.config, local(day, 10));
    assert!(out.contains("1 sent"), "{out}");
    let out = run_once(&s.config, local(day, 11));
    assert!(out.contains("0 sent"), "the cap holds: {out}");
    let out = run_once(&s.config, local(day.tomorrow().unwrap(), 10));
    assert!(out.contains("1 sent"), "{out}");
    let (to_ann, to_bob) = (
        candor_mail(&s.stack, &s.ann, "INBOX").await,
        candor_mail(&s.stack, &bob, "INBOX").await,
    );
    assert_eq!((to_ann.len(), to_bob.len()), (1, 1), "one each");
    assert_eq!(outbox(&s.config).len(), 2, "{:?}", outbox(&s.config));
    // The email held over to the next day is dated and worded that day (found in review: it
    // carried the Date of the day it was first queued).
    let [(first, _), (second, _)] = [&to_ann[0], &to_bob[0]].map(|m| {
        let date = header(&m.raw, "Date").expect("a Date header");
        (
            jiff::fmt::rfc2822::parse(date.trim())
                .expect("an RFC 2822 Date")
                .timestamp(),
            date,
        )
    });
    let (early, late) = (first.min(second), first.max(second));
    assert!(
        late.duration_since(early) >= jiff::SignedDuration::from_hours(23),
        "sent a day apart, dated a day apart: {early} {late}"
    );
}

/// Found in review: a follow-up queued in auto (held here by a 451) went out by SMTP after the
/// owner switched the account to dry-run, and once back in auto, what dry-run had recorded made
/// the candidate's first real email "following up once more". Dry-run records the queued row
/// and sends nothing; back in auto the candidate gets follow-up 1, once.
#[tokio::test(flavor = "multi_thread")]
async fn dry_run_sends_nothing_queued_before_it_and_its_records_count_for_nothing_after() {
    let s = silent_ann("auto", "");
    s.stack
        .refuse_recipient("ann@candidates.example", 451, "4.3.0 try again later")
        .unwrap();
    let out = run_once(&s.config, s.t1());
    assert!(out.contains("1 to retry"), "{out}");
    s.stack.clear_refusals().unwrap();

    crate::support::switch_mode(&s.config, "auto", "dry-run");
    let out = run_once(&s.config, s.t1() + hours(1));
    assert!(
        out.contains("0 sent") && out.contains("1 recorded"),
        "{out}"
    );
    // A week on, dry-run records the second follow-up it would send.
    let out = run_once(&s.config, s.t1() + days(7));
    assert!(
        out.contains("0 sent") && out.contains("1 recorded"),
        "{out}"
    );
    let rows = outbox(&s.config);
    let states: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.kind.as_str(), r.state.as_str()))
        .collect();
    assert_eq!(
        states,
        [("follow_up_1", "recorded"), ("follow_up_2", "recorded")],
        "{rows:?}"
    );
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());

    crate::support::switch_mode(&s.config, "dry-run", "auto");
    let out = run_once(&s.config, s.t1() + days(8));
    assert!(out.contains("1 sent"), "{out}");
    expect_one_follow_up(&s.stack, &s.ann, "ann1@agency.example", "follow_up_1").await;
    let out = run_once(&s.config, s.t1() + days(8) + hours(1));
    assert!(out.contains("0 queued, 0 sent"), "{out}");
    assert_eq!(candor_mail(&s.stack, &s.ann, "INBOX").await.len(), 1);
}

/// SPEC §7.5: the account's emails are spaced with jitter, 30 to 90 s apart. Two follow-ups
/// due at once: the first goes, the second waits (reported as a retry), then goes once the
/// spacing has passed; each once.
#[tokio::test(flavor = "multi_thread")]
async fn two_follow_ups_due_at_once_go_out_spaced() {
    let s = silent_ann("auto", "");
    let bob = s.bob_asked_too();
    let out = run_once(&s.config, s.t1());
    assert!(
        out.contains("1 sent") && out.contains("1 to retry"),
        "{out}"
    );
    let out = run_once(&s.config, s.t1() + SignedDuration::from_secs(20));
    assert!(
        out.contains("0 sent") && out.contains("1 to retry"),
        "{out}"
    );
    // The daemon wakes when the spacing has passed, with no mail arriving to wake it.
    let now = (s.t1() + SignedDuration::from_secs(21)).to_string();
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_candor"))
        .arg("--config")
        .arg(&s.config.path)
        .args(["run", "--now", &now])
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let (both, waited) = crate::support::wait_until(std::time::Duration::from_secs(150), || {
        outbox(&s.config)
            .iter()
            .filter(|r| r.state == "sent")
            .count()
            == 2
    });
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert!(
        both,
        "the second follow-up went out: {:?}",
        outbox(&s.config)
    );
    assert!(
        waited <= std::time::Duration::from_secs(120),
        "about when the spacing (at most 90 s, 21 of them before the start) ends: {waited:?}"
    );
    let out = run_once(&s.config, s.t1() + SignedDuration::from_secs(600));
    assert!(out.contains("0 queued, 0 sent"), "{out}");
    let got = candor_mail(&s.stack, &s.ann, "INBOX").await.len()
        + candor_mail(&s.stack, &bob, "INBOX").await.len();
    assert_eq!(got, 2, "one each");
}
