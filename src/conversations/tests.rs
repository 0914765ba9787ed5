//! Candidates and conversations as data.

use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn msg(key: i64, thread: i64, at: &str, from: &str, to: &[&str], class: Class) -> StoredMessage {
    StoredMessage {
        key,
        thread,
        time: ts(at),
        message_id: Some(format!("m{key}@x")),
        in_reply_to: None,
        from: from.to_owned(),
        from_name: String::new(),
        to: to.iter().map(|s| s.to_string()).collect(),
        cc: Vec::new(),
        subject: "Role".to_owned(),
        class,
        body: String::new(),
        ooo_until: None,
        hard_bounce: false,
        bounced: Vec::new(),
        own_kind: None,
        recipient_names: Vec::new(),
        reply_to: Vec::new(),
    }
}

fn identity() -> Identity {
    Identity::new(
        &["jane@agency.example".to_owned()],
        &["agency.example".to_owned()],
    )
}

#[test]
fn candidates_are_external_humans_and_cold_outreach() {
    let messages = vec![
        msg(
            1,
            1,
            "2026-03-02T09:00:00Z",
            "jane@agency.example",
            &["ann@c.example"],
            Class::Human,
        ),
        msg(
            2,
            1,
            "2026-03-03T09:00:00Z",
            "ann@c.example",
            &["jane@agency.example"],
            Class::Human,
        ),
        msg(
            3,
            3,
            "2026-03-02T10:00:00Z",
            "jane@agency.example",
            &["cold@c.example", "tom@agency.example"],
            Class::Human,
        ),
        msg(
            4,
            4,
            "2026-03-02T11:00:00Z",
            "news@lists.example",
            &["jane@agency.example"],
            Class::List,
        ),
        msg(
            5,
            5,
            "2026-03-02T12:00:00Z",
            "noreply@board.example",
            &["jane@agency.example"],
            Class::Human,
        ),
        msg(
            6,
            6,
            "2026-03-02T13:00:00Z",
            "tom@agency.example",
            &["jane@agency.example"],
            Class::Human,
        ),
        msg(
            7,
            7,
            "2026-03-02T14:00:00Z",
            "jane@agency.example",
            &["news@lists.example"],
            Class::Human,
        ),
    ];
    let conversations = conversations(&messages, &identity());
    let addresses: Vec<&str> = conversations.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(addresses, ["ann@c.example", "cold@c.example"]);
    assert!(conversations[0].replied);
    assert!(!conversations[1].replied, "cold outreach never answered");
}

#[test]
fn auto_replies_and_bounces_never_close_a_wait_and_a_colleague_does_not_answer_for_the_owner() {
    let messages = vec![
        msg(
            1,
            1,
            "2026-03-02T09:00:00Z",
            "ann@c.example",
            &["jane@agency.example"],
            Class::Human,
        ),
        msg(
            2,
            1,
            "2026-03-02T10:00:00Z",
            "tom@agency.example",
            &["ann@c.example"],
            Class::Human,
        ),
        msg(
            3,
            3,
            "2026-03-02T11:00:00Z",
            "jane@agency.example",
            &["bob@c.example"],
            Class::Human,
        ),
        msg(
            4,
            3,
            "2026-03-02T11:01:00Z",
            "bob@c.example",
            &["jane@agency.example"],
            Class::AutoReply,
        ),
        msg(
            5,
            1,
            "2026-03-03T09:00:00Z",
            "jane@agency.example",
            &["ann@c.example"],
            Class::Human,
        ),
    ];
    let conversations = conversations(&messages, &identity());
    let ann = conversations
        .iter()
        .find(|c| c.address == "ann@c.example")
        .unwrap();
    assert_eq!(ann.waits[0].direction, Direction::RecruiterReply);
    assert_eq!(
        ann.waits[0].closed_by,
        Some(5),
        "the colleague's message did not close it"
    );
    assert_eq!(ann.waits[0].latency_s, Some(86_400));
    let bob = conversations
        .iter()
        .find(|c| c.address == "bob@c.example")
        .unwrap();
    assert_eq!(
        bob.messages.len(),
        2,
        "the auto-reply belongs to the conversation"
    );
    assert!(bob.open_wait().is_some(), "the auto-reply closed nothing");
    assert!(!bob.replied);
}

#[test]
fn a_second_address_is_merged_when_configured() {
    let messages = vec![
        msg(
            1,
            1,
            "2026-03-02T09:00:00Z",
            "jane@agency.example",
            &["ann@home.example"],
            Class::Human,
        ),
        msg(
            2,
            2,
            "2026-03-02T15:00:00Z",
            "ann.lee@work.example",
            &["jane@agency.example"],
            Class::Human,
        ),
    ];
    let unmerged = conversations(&messages, &identity());
    assert_eq!(unmerged.len(), 2);
    let mut id = identity();
    id.add_alias_group(&[
        "ann@home.example".to_owned(),
        "ann.lee@work.example".to_owned(),
    ]);
    let merged = conversations(&messages, &id);
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].address, "ann@home.example");
    assert_eq!(
        merged[0].addresses,
        ["ann@home.example", "ann.lee@work.example"]
    );
    assert_eq!(
        merged[0].waits[0].latency_s,
        Some(6 * 3600),
        "the second address closes the wait"
    );
    let mut by_command = identity();
    by_command.add_merge("ann@home.example", "ann.lee@work.example");
    assert_eq!(conversations(&messages, &by_command).len(), 1);
}

/// Found by the ground-truth test (issue 5): a mobile client's reply without In-Reply-To or
/// References to the owner's follow-up was measured from the first outreach, not the follow-up.
#[test]
fn headerless_reply_to_a_follow_up_is_measured_from_the_follow_up() {
    let with_subject = |mut m: StoredMessage, subject: &str| {
        m.subject = subject.to_owned();
        m
    };
    let mut follow_up = with_subject(
        msg(
            2,
            1,
            "2026-03-06T09:00:00Z",
            "jane@agency.example",
            &["ann@c.example"],
            Class::Human,
        ),
        "Re: Backend role",
    );
    follow_up.in_reply_to = Some("m1@x".to_owned());
    let outreach = |key, to: &str| {
        with_subject(
            msg(
                key,
                key,
                "2026-03-02T09:00:00Z",
                "jane@agency.example",
                &[to],
                Class::Human,
            ),
            "Backend role",
        )
    };
    let messages = vec![
        outreach(1, "ann@c.example"),
        follow_up,
        // Header-less, same subject: answers the follow-up.
        with_subject(
            msg(
                3,
                1,
                "2026-03-06T10:00:00Z",
                "ann@c.example",
                &["jane@agency.example"],
                Class::Human,
            ),
            "AW: Backend role",
        ),
        // Bob: header-less but about something else: measured from the run's first message.
        outreach(4, "bob@c.example"),
        with_subject(
            msg(
                5,
                4,
                "2026-03-03T09:00:00Z",
                "bob@c.example",
                &["jane@agency.example"],
                Class::Human,
            ),
            "Re: Another topic",
        ),
    ];
    let conversations = conversations(&messages, &identity());
    let wait_of = |address: &str| {
        conversations
            .iter()
            .find(|c| c.address == address)
            .unwrap()
            .waits[0]
    };
    assert_eq!(wait_of("ann@c.example").latency_s, Some(3600));
    assert_eq!(wait_of("ann@c.example").closed_by, Some(3));
    assert_eq!(wait_of("bob@c.example").latency_s, Some(86_400));
}

#[test]
fn the_digest_read_back_from_sent_makes_nobody_a_candidate() {
    // `[account.digest] to` may be the owner's outside address; the server saves the digest in
    // Sent, and it is read back as the owner's own mail (found in review).
    let mut digest = msg(
        1,
        1,
        "2026-03-02T07:00:00Z",
        "jane@agency.example",
        &["jane.doe@home.example"],
        Class::Own,
    );
    digest.own_kind = Some("digest".to_owned());
    let mut follow_up = msg(
        2,
        2,
        "2026-03-02T08:00:00Z",
        "jane@agency.example",
        &["ann@a.example"],
        Class::Own,
    );
    follow_up.own_kind = Some("follow_up_1".to_owned());
    let found = conversations(&[digest, follow_up], &identity());
    let who: Vec<&str> = found.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(
        who,
        ["ann@a.example"],
        "candor's follow-up counts, its digest does not"
    );
}

#[test]
fn replies_are_put_after_the_messages_they_answer() {
    let reply = |key: i64, at: &str, parent: Option<i64>| {
        let mut m = msg(
            key,
            1,
            at,
            "ann@c.example",
            &["jane@agency.example"],
            Class::Human,
        );
        m.in_reply_to = parent.map(|p| format!("m{p}@x"));
        m
    };
    // 2 answers 1 but is dated 10 minutes before it; 3 answers 2, dated between them; 4 is
    // later than its parent and stays; 5 and 6 answer each other (a cycle) and stay as dated;
    // 7 names 1 as its parent but is dated 5 days before it: a broken header, not a clock.
    let mut messages = vec![
        reply(7, "2026-02-25T10:00:00Z", Some(1)),
        reply(2, "2026-03-02T09:50:00Z", Some(1)),
        reply(3, "2026-03-02T09:55:00Z", Some(2)),
        reply(1, "2026-03-02T10:00:00Z", None),
        reply(4, "2026-03-02T12:00:00Z", Some(1)),
        reply(5, "2026-03-01T08:00:00Z", Some(6)),
        reply(6, "2026-03-01T09:00:00Z", Some(5)),
    ];
    order_replies_after_parents(&mut messages);
    let order: Vec<(i64, String)> = messages
        .iter()
        .map(|m| (m.key, m.time.to_string()))
        .collect();
    assert_eq!(
        order,
        [
            (7, "2026-02-25T10:00:00Z".to_owned()),
            (5, "2026-03-01T08:00:00Z".to_owned()),
            (6, "2026-03-01T09:00:00Z".to_owned()),
            (1, "2026-03-02T10:00:00Z".to_owned()),
            (2, "2026-03-02T10:00:01Z".to_owned()),
            (3, "2026-03-02T10:00:02Z".to_owned()),
            (4, "2026-03-02T12:00:00Z".to_owned()),
        ]
    );
}

#[test]
fn a_list_post_does_not_hide_a_person_the_owner_writes_to() {
    let mut reply = msg(
        3,
        2,
        "2026-03-03T09:00:00Z",
        "ann@c.example",
        &["jane@agency.example"],
        Class::Human,
    );
    reply.in_reply_to = Some("m2@x".to_owned());
    let messages = vec![
        // Ann once posted to a list the owner reads (found in review: she was never tracked).
        msg(
            1,
            1,
            "2026-03-01T09:00:00Z",
            "ann@c.example",
            &["rust-users@lists.example"],
            Class::List,
        ),
        msg(
            2,
            2,
            "2026-03-02T09:00:00Z",
            "jane@agency.example",
            &["ann@c.example"],
            Class::Human,
        ),
        reply,
        // A newsletter's sender, one of whose mails lacks list headers, is no candidate.
        msg(
            4,
            3,
            "2026-03-01T10:00:00Z",
            "news@shop.example",
            &["jane@agency.example"],
            Class::List,
        ),
        msg(
            5,
            4,
            "2026-03-02T10:00:00Z",
            "news@shop.example",
            &["jane@agency.example"],
            Class::Human,
        ),
    ];
    let found = conversations(&messages, &identity());
    let who: Vec<&str> = found.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(who, ["ann@c.example"]);
    assert_eq!(found[0].waits[0].latency_s, Some(86_400));
}

#[test]
fn a_cold_outreach_candidate_is_named_as_the_owner_addressed_them() {
    // The owner wrote `To: "Ann Lee" <ann@c.example>`; Ann never answered (found in review:
    // her follow-ups said "Hi there,").
    let mut outreach = msg(
        1,
        1,
        "2026-03-02T09:00:00Z",
        "jane@agency.example",
        &["ann@c.example"],
        Class::Human,
    );
    outreach.recipient_names = vec![("ann@c.example".to_owned(), "Ann Lee".to_owned())];
    let found = conversations(&[outreach.clone()], &identity());
    assert_eq!(found[0].name, "Ann Lee");
    // Once she writes, the name she gives wins.
    let mut reply = msg(
        2,
        1,
        "2026-03-03T09:00:00Z",
        "ann@c.example",
        &["jane@agency.example"],
        Class::Human,
    );
    reply.from_name = "Ann B. Lee".to_owned();
    let found = conversations(&[outreach, reply], &identity());
    assert_eq!(found[0].name, "Ann B. Lee");
}

/// The owner posts a question to a list that does not send her own posts back: only the Sent
/// copy exists, a human message to the list's address. The other members' posts, sent to that
/// address, show it is a list: it is no candidate (a follow-up would have gone to the whole
/// list). A person copied on list mail who writes to the owner is one all the same.
#[test]
fn a_lists_address_is_no_candidate_even_without_her_post_coming_back() {
    let mut cc_ann = msg(
        2,
        2,
        "2026-03-01T10:00:00Z",
        "bob@b.example",
        &["recruiters-l@lists.example"],
        Class::List,
    );
    cc_ann.cc = vec!["ann@c.example".to_owned()];
    let messages = vec![
        msg(
            1,
            1,
            "2026-03-01T09:00:00Z",
            "bob@b.example",
            &["recruiters-l@lists.example"],
            Class::List,
        ),
        cc_ann,
        msg(
            3,
            3,
            "2026-03-02T09:00:00Z",
            "jane@agency.example",
            &["recruiters-l@lists.example"],
            Class::Human,
        ),
        msg(
            4,
            4,
            "2026-03-02T10:00:00Z",
            "ann@c.example",
            &["jane@agency.example"],
            Class::Human,
        ),
    ];
    let found = conversations(&messages, &identity());
    let who: Vec<&str> = found.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(who, ["ann@c.example"]);
}

/// A message from `from` (named `name`) to the owner asking to be answered at `reply_to`.
fn asks_reply_at(
    key: i64,
    at: &str,
    (from, name): (&str, &str),
    (reply_to, reply_name): (&str, &str),
) -> StoredMessage {
    let mut m = msg(key, 1, at, from, &["jane@agency.example"], Class::Human);
    m.from_name = name.to_owned();
    m.reply_to = vec![(reply_to.to_owned(), reply_name.to_owned())];
    m
}

/// Ann writes from work with `Reply-To:` her private address; the owner's mail client answers
/// there, and Ann answers that from work again. Without her Reply-To taken as hers, the
/// owner's reply opened a cold-outreach conversation with the private address, in which Ann's
/// answer was someone else's: it waited on her though she had answered, and the work address's
/// conversation waited on the owner for good.
#[test]
fn a_candidates_own_reply_to_is_one_of_their_addresses() {
    let ann = ("ann@work.example", "Ann Lee");
    let messages = |reply_to: (&str, &str)| {
        let mut first = asks_reply_at(1, "2026-03-02T09:00:00Z", ann, reply_to);
        first.message_id = Some("m1@x".to_owned());
        let mut answer = msg(
            2,
            1,
            "2026-03-02T11:00:00Z",
            "jane@agency.example",
            &["ann@home.example"],
            Class::Human,
        );
        answer.in_reply_to = Some("m1@x".to_owned());
        let mut again = asks_reply_at(3, "2026-03-03T09:00:00Z", ann, reply_to);
        again.in_reply_to = Some("m2@x".to_owned());
        vec![first, answer, again]
    };

    let merged = conversations(&messages(("ann@home.example", "")), &identity());
    assert_eq!(merged.len(), 1, "{merged:#?}");
    assert_eq!(merged[0].address, "ann@work.example");
    assert_eq!(
        merged[0].addresses,
        ["ann@work.example", "ann@home.example"]
    );
    let waits: Vec<_> = merged[0]
        .waits
        .iter()
        .map(|w| (w.direction, w.latency_s))
        .collect();
    assert_eq!(
        waits,
        [
            (Direction::RecruiterReply, Some(2 * 3600)),
            (Direction::CandidateReply, Some(22 * 3600)),
            (Direction::RecruiterReply, None),
        ],
        "the owner's answer to the private address answers Ann, and Ann's answer answers it"
    );
    // The same name in both headers counts as hers too.
    assert_eq!(
        conversations(&messages(("ann@home.example", "ann  LEE")), &identity()).len(),
        1
    );

    // The control: the same mail without a Reply-To is two people, the private address waited
    // on for an answer that came.
    let mut apart = messages(("ann@home.example", ""));
    for m in &mut apart {
        m.reply_to.clear();
    }
    let apart = conversations(&apart, &identity());
    assert_eq!(apart.len(), 2);
    let home = apart
        .iter()
        .find(|c| c.address == "ann@home.example")
        .unwrap();
    assert_eq!(
        home.open_wait().map(|w| w.direction),
        Some(Direction::CandidateReply)
    );
}

/// A Reply-To that names someone else (a referrer's "reply to Bob directly"), or that is a role,
/// internal or automated address, does not make one person of two.
#[test]
fn a_reply_to_naming_someone_else_or_no_person_joins_nobody() {
    let rita = ("rita@ref.example", "Rita Ref");
    for (reply_to, why) in [
        (("bob@b.example", "Bob Jones"), "another person's name"),
        (("no-reply@b.example", ""), "a role address"),
        (("tom@agency.example", ""), "an internal address"),
        (("jane@agency.example", ""), "the owner"),
    ] {
        let mut messages = vec![asks_reply_at(1, "2026-03-02T09:00:00Z", rita, reply_to)];
        let mut answer = msg(
            2,
            1,
            "2026-03-02T11:00:00Z",
            "jane@agency.example",
            &[reply_to.0],
            Class::Human,
        );
        answer.in_reply_to = Some("m1@x".to_owned());
        messages.push(answer);
        let found = conversations(&messages, &identity());
        let rita = found
            .iter()
            .find(|c| c.address == "rita@ref.example")
            .unwrap_or_else(|| panic!("{why}: {found:#?}"));
        assert_eq!(rita.addresses, ["rita@ref.example"], "{why}");
        assert_eq!(
            rita.open_wait().map(|w| w.direction),
            Some(Direction::RecruiterReply),
            "{why}: the owner wrote to someone else"
        );
    }
}

/// A job board relays every applicant's mail from one address, each with their own Reply-To:
/// the relay is nobody's alias. Merging it made one candidate of Ann and Bob, and the board's
/// own notice (under its own name, without a Reply-To) their latest mail.
#[test]
fn a_relay_address_used_for_several_people_is_nobodys_alias() {
    let relay = "apply@board.example";
    let ann = asks_reply_at(
        1,
        "2026-03-02T09:00:00Z",
        (relay, "Ann Lee"),
        ("ann@home.example", ""),
    );
    let bob = asks_reply_at(
        2,
        "2026-03-02T10:00:00Z",
        (relay, "Bob Roe"),
        ("bob@home.example", ""),
    );
    let mut notice = msg(
        3,
        3,
        "2026-03-03T10:00:00Z",
        relay,
        &["jane@agency.example"],
        Class::Human,
    );
    notice.from_name = "Board".to_owned();

    for (messages, why) in [
        (vec![ann.clone(), bob], "two applicants"),
        (vec![ann, notice], "one applicant and the board's notice"),
    ] {
        let found = conversations(&messages, &identity());
        for c in &found {
            assert_eq!(c.addresses.len(), 1, "{why}: {found:#?}");
        }
    }
}
