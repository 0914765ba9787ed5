//! Closures the owner decided (SPEC §6): sent once after the cancel window, and not at all
//! when the owner changes their mind.

use super::*;

fn ann_answer(t0: Timestamp) -> Vec<u8> {
    message(
        "Ann Lee <ann@candidates.example>",
        "Jane Doe <jane@agency.example>",
        "Re: Backend role at Acme",
        "ann2@candidates.example",
        t0 + hours(2),
        "In-Reply-To: <ann1@agency.example>\r\nReferences: <ann1@agency.example>\r\n",
        "Yes, I would like that. When suits you?",
    )
}

/// Jane wrote, Ann answered at `t0 + 2h`; the conversation awaits Jane, so only the owner's
/// decision can send anything.
fn ann_answered(extra: &str) -> Silent {
    let s = silent_ann("auto", extra);
    let raw = ann_answer(s.t0);
    s.stack
        .seed(&s.jane, "INBOX", &[seeded(&raw, s.t0 + hours(2))])
        .unwrap();
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn a_decided_closure_goes_out_once_after_its_window() {
    let s = ann_answered("");
    let t = s.t0 + days(1);
    run_once(&s.config, t);
    candor_at(
        &s.config,
        t,
        &[
            "candidate",
            "close",
            "ann@candidates.example",
            "--outcome",
            "not_selected",
        ],
    );
    let out = run_once(&s.config, t + hours(1));
    assert!(out.contains("0 queued, 0 sent"), "inside the window: {out}");
    assert!(outbox(&s.config).is_empty());

    let out = run_once(&s.config, t + hours(25));
    assert!(out.contains("1 sent"), "after the window: {out}");
    // A decided closure answers the conversation's latest human message: Ann's.
    expect_one_follow_up(
        &s.stack,
        &s.ann,
        "ann2@candidates.example",
        "closure_not_selected",
    )
    .await;
    let rows = outbox(&s.config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].kind.as_str(), rows[0].state.as_str()),
        ("closure_not_selected", "sent")
    );

    for later in [t + hours(26), t + days(10)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    assert_eq!(candor_mail(&s.stack, &s.ann, "INBOX").await.len(), 1);
    assert_eq!(outbox(&s.config).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closure_cancelled_by_resume_within_its_window_never_goes_out() {
    let s = ann_answered("");
    let t = s.t0 + days(1);
    run_once(&s.config, t);
    candor_at(
        &s.config,
        t,
        &[
            "candidate",
            "close",
            "ann@candidates.example",
            "--outcome",
            "not_selected",
        ],
    );
    run_once(&s.config, t + hours(1));
    candor_at(
        &s.config,
        t + hours(2),
        &["candidate", "resume", "ann@candidates.example"],
    );
    for later in [t + hours(25), t + days(3), t + days(10)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    assert!(outbox(&s.config).is_empty(), "{:?}", outbox(&s.config));
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pause_within_the_window_cancels_the_decided_closure() {
    let s = ann_answered("");
    let t = s.t0 + days(1);
    candor_at(
        &s.config,
        t,
        &[
            "candidate",
            "close",
            "ann@candidates.example",
            "--outcome",
            "position_filled",
        ],
    );
    run_once(&s.config, t + hours(1));
    candor_at(
        &s.config,
        t + hours(2),
        &["candidate", "pause", "ann@candidates.example"],
    );
    for later in [t + hours(25), t + days(10)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    assert!(outbox(&s.config).is_empty(), "{:?}", outbox(&s.config));
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());
}

/// Found in review: `pause --until` a date already past said "paused until ..." and paused
/// nothing; `stats` took a window that ends before it starts. Both are refused (exit 2).
#[tokio::test(flavor = "multi_thread")]
async fn a_pause_until_a_past_date_and_a_reversed_stats_window_are_refused() {
    let s = ann_answered("");
    let t = s.t0 + days(1);
    run_once(&s.config, t);
    let now = t.to_string();
    let at = |args: &[&str]| {
        let mut all = vec!["--now", now.as_str()];
        all.extend_from_slice(args);
        candor(&s.config, &all)
    };
    let yesterday = (t - days(1))
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Berlin").unwrap())
        .date()
        .to_string();
    let out = at(&[
        "candidate",
        "pause",
        "ann@candidates.example",
        "--until",
        &yesterday,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("would already be over"),
        "{}",
        text(&out.stderr)
    );
    let plan = at(&["plan", "--json"]);
    assert!(
        !text(&plan.stdout).contains("\"paused\""),
        "nothing paused: {}",
        text(&plan.stdout)
    );

    let out = at(&[
        "stats",
        "--json",
        "--since",
        "2026-05-01",
        "--until",
        "2026-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("window is empty"),
        "{}",
        text(&out.stderr)
    );
    let out = at(&[
        "stats",
        "--json",
        "--since",
        "2026-01-01",
        "--until",
        "2026-05-01",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

// Dovecot's Maildir++ layout uses `.` as the hierarchy separator.
const FOLDERS: &str = "\n[account.folders]\nhold = \"Candor.Hold\"\noutcomes = { withdrawn = \"Candor.Withdrawn\" }\n";

/// Copies Ann's answer into `folder`, as the owner's mail client would.
fn file_ann_answer(s: &Silent, folder: &str) {
    let raw = ann_answer(s.t0);
    s.stack
        .seed(&s.jane, folder, &[seeded(&raw, s.t0 + hours(2))])
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_filed_in_an_outcome_folder_decides_the_closure() {
    let s = ann_answered(FOLDERS);
    let t = s.t0 + days(1);
    file_ann_answer(&s, "Candor.Withdrawn");
    let out = run_once(&s.config, t);
    assert!(out.contains("0 queued, 0 sent"), "the window runs: {out}");
    let out = run_once(&s.config, t + hours(25));
    assert!(out.contains("1 sent"), "{out}");
    expect_one_follow_up(
        &s.stack,
        &s.ann,
        "ann2@candidates.example",
        "closure_withdrawn",
    )
    .await;
    let out = run_once(&s.config, t + days(5));
    assert!(out.contains("0 queued, 0 sent"), "{out}");
    assert_eq!(candor_mail(&s.stack, &s.ann, "INBOX").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_message_filed_in_the_hold_folder_cancels_the_decided_closure() {
    let s = ann_answered(FOLDERS);
    let t = s.t0 + days(1);
    candor_at(
        &s.config,
        t,
        &[
            "candidate",
            "close",
            "ann@candidates.example",
            "--outcome",
            "not_selected",
        ],
    );
    run_once(&s.config, t + hours(1));
    file_ann_answer(&s, "Candor.Hold");
    for later in [t + hours(2), t + hours(25), t + days(10)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    assert!(outbox(&s.config).is_empty(), "{:?}", outbox(&s.config));
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn with_digests_on_a_decided_closure_waits_for_a_digest_that_lists_it() {
    let s = ann_answered("");
    let toml = std::fs::read_to_string(&s.config.path).unwrap();
    let daily = toml.replace("schedule = \"off\"", "schedule = \"daily\"\nat = \"08:00\"");
    assert_ne!(toml, daily);
    std::fs::write(&s.config.path, daily).unwrap();
    let t = s.t0 + days(1);
    candor_at(
        &s.config,
        t,
        &[
            "candidate",
            "close",
            "ann@candidates.example",
            "--outcome",
            "not_selected",
        ],
    );
    // The window is over, but no digest has told Jane yet.
    let out = run_once(&s.config, t + hours(25));
    assert!(out.contains("0 queued, 0 sent"), "{out}");
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());
    let digest = candor_at(&s.config, t + hours(26), &["digest", "--print"]);
    assert!(
        digest.contains("ann@candidates.example"),
        "listed: {digest}"
    );
    candor_at(&s.config, t + hours(26), &["digest", "--send"]);
    s.stack
        .wait_for_message(
            &s.jane,
            "INBOX",
            |m| header(&m.raw, "X-Candor").is_some_and(|x| x.contains("kind=digest")),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    let out = run_once(&s.config, t + hours(27));
    assert!(out.contains("1 sent"), "after the digest: {out}");
    expect_one_follow_up(
        &s.stack,
        &s.ann,
        "ann2@candidates.example",
        "closure_not_selected",
    )
    .await;
    let out = run_once(&s.config, t + days(3));
    assert!(out.contains("0 queued, 0 sent"), "{out}");
    assert_eq!(candor_mail(&s.stack, &s.ann, "INBOX").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn after_two_follow_ups_a_candidate_who_replied_once_gets_one_closure_after_silence() {
    let s = ann_answered("");
    let asked = message(
        "Jane Doe <jane@agency.example>",
        "Ann Lee <ann@candidates.example>",
        "Re: Backend role at Acme",
        "ann3@agency.example",
        s.t0 + hours(3),
        "In-Reply-To: <ann2@candidates.example>\r\nReferences: <ann1@agency.example> <ann2@candidates.example>\r\n",
        "Lovely. Could you send me your CV?",
    );
    s.stack
        .seed(&s.jane, "Sent", &[seeded(&asked, s.t0 + hours(3))])
        .unwrap();
    let mut kinds = Vec::new();
    for (at, expect) in [
        (days(6), Some("follow_up_1")),
        (days(9), None),
        (days(12), Some("follow_up_2")),
        (days(15), None),
        (days(20), Some("closure_silence")),
        (days(40), None),
    ] {
        let out = run_once(&s.config, s.t0 + at);
        let sent = if expect.is_some() {
            "1 sent"
        } else {
            "0 queued, 0 sent"
        };
        assert!(out.contains(sent), "{at:?} {expect:?}: {out}");
        kinds.extend(expect);
    }
    let (ok, _) = crate::support::wait_until(Duration::from_secs(20), || {
        futures::executor::block_on(candor_mail(&s.stack, &s.ann, "INBOX")).len() == 3
    });
    assert!(ok, "three emails arrived");
    for m in candor_mail(&s.stack, &s.ann, "INBOX").await {
        assert_eq!(
            header(&m.raw, "In-Reply-To").as_deref(),
            Some("<ann3@agency.example>"),
            "each follows up the owner's question"
        );
    }
    let rows: Vec<String> = outbox(&s.config).into_iter().map(|r| r.kind).collect();
    assert_eq!(rows, kinds);
}
