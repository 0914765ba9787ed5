//! Who exactly gets the email: one candidate of a group thread, the owner address the candidate
//! wrote to, the address the candidate last wrote from; and who never does after opting out.

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_from_anyone_in_the_thread_stops_the_follow_up() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let ann = stack.add_user("ann@candidates.example").unwrap();
    let bob = stack.add_user("bob@candidates.example").unwrap();
    let config = jane_config(&stack, &jane, "auto", "\n[account.scope]\nmode = \"all\"\n");
    let t0 = base();
    candor_at(&config, t0, &["sync"]);
    // Jane asks Ann and Bob together; Bob answers Jane alone.
    let ask = message(
        "Jane Doe <jane@agency.example>",
        "ann@candidates.example, bob@candidates.example",
        "Panel interview",
        "panel1@agency.example",
        t0 + hours(1),
        "",
        "Would either of you be free on Friday?",
    );
    stack
        .seed(&jane, "Sent", &[seeded(&ask, t0 + hours(1))])
        .unwrap();
    to_jane(
        &stack,
        &jane,
        "bob@candidates.example",
        "panel2@candidates.example",
        t0 + days(1),
        "In-Reply-To: <panel1@agency.example>\r\nReferences: <panel1@agency.example>\r\n",
        "Friday works for me.",
        &[],
    );
    for at in [t0 + days(7), t0 + days(14)] {
        let out = run_once(&config, at);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    assert!(outbox(&config).is_empty(), "{:?}", outbox(&config));
    assert!(candor_mail(&stack, &ann, "INBOX").await.is_empty());
    assert!(candor_mail(&stack, &bob, "INBOX").await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn from_the_owner_alias_the_candidate_wrote_to_and_to_the_address_she_wrote_from() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let ann_home = stack.add_user("ann.lee@example.com").unwrap();
    let ann = stack.add_user("ann@candidates.example").unwrap();
    let aliases = "\n[account.scope]\nmode = \"all\"\naliases = [[\"ann@candidates.example\", \"ann.lee@example.com\"]]\n";
    let config = write_config(&[&|dir| {
        account_toml(
            &stack,
            "jane",
            &jane,
            dir,
            &format!("{aliases}\n{ALL_DAYS}"),
        )
        .replace("mode = \"dry-run\"", "mode = \"auto\"")
        .replace(
            "owner_addresses = [\"jane@agency.example\"]",
            "owner_addresses = [\"jane@agency.example\", \"j.doe@agency.example\"]",
        )
    }]);
    let t0 = base();
    candor_at(&config, t0, &["sync"]);
    jane_writes(
        &stack,
        &jane,
        "ann@candidates.example",
        "a1@agency.example",
        t0 + hours(1),
        "Hi Ann, would you be open to a chat?",
        &[],
    );
    // Ann answers from her home address to Jane's alias; Jane asks again, then silence.
    let answer = message(
        "Ann Lee <ann.lee@example.com>",
        "j.doe@agency.example",
        "Re: Backend role at Acme",
        "a2@example.com",
        t0 + hours(2),
        "In-Reply-To: <a1@agency.example>\r\nReferences: <a1@agency.example>\r\n",
        "Yes! Please use this address from now on.",
    );
    stack
        .seed(&jane, "INBOX", &[seeded(&answer, t0 + hours(2))])
        .unwrap();
    let again = message(
        "Jane Doe <j.doe@agency.example>",
        "Ann Lee <ann.lee@example.com>",
        "Re: Backend role at Acme",
        "a3@agency.example",
        t0 + hours(3),
        "In-Reply-To: <a2@example.com>\r\nReferences: <a1@agency.example> <a2@example.com>\r\n",
        "Great. Could you send me your CV?",
    );
    stack
        .seed(&jane, "Sent", &[seeded(&again, t0 + hours(3))])
        .unwrap();
    let out = run_once(&config, t0 + days(7));
    assert!(out.contains("1 sent"), "{out}");
    let got = stack
        .wait_for_message(
            &ann_home,
            "INBOX",
            |m| header(&m.raw, "X-Candor").is_some(),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    let from = header(&got.raw, "From").unwrap();
    assert!(from.contains("j.doe@agency.example"), "From: {from}");
    assert_eq!(
        header(&got.raw, "In-Reply-To").as_deref(),
        Some("<a3@agency.example>")
    );
    let refs = header(&got.raw, "References").unwrap();
    assert!(
        refs.ends_with("<a2@example.com> <a3@agency.example>"),
        "{refs}"
    );
    assert!(
        candor_mail(&stack, &ann, "INBOX").await.is_empty(),
        "one address only"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_opted_out_candidate_gets_no_decided_closure() {
    let s = silent_ann("auto", "");
    to_jane(
        &s.stack,
        &s.jane,
        "Ann Lee <ann@candidates.example>",
        "ann2@candidates.example",
        s.t0 + hours(2),
        "In-Reply-To: <ann1@agency.example>\r\n",
        "Please stop contacting me. I am not interested.",
        &[],
    );
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
    for later in [t + hours(25), t + days(10)] {
        let out = run_once(&s.config, later);
        assert!(out.contains("0 queued, 0 sent"), "{out}");
    }
    let plan: serde_json::Value =
        serde_json::from_str(&candor_at(&s.config, t + days(10), &["plan", "--json"])).unwrap();
    assert_eq!(plan["held"][0]["state"], "opted_out", "{plan}");
    assert!(outbox(&s.config).is_empty());
    assert!(candor_mail(&s.stack, &s.ann, "INBOX").await.is_empty());
}
