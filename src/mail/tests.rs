//! Unit tests of parsing and classification with handcrafted messages.

use jiff::civil::date;

use super::*;

fn msg(headers: &str, body: &str) -> Message {
    let raw = format!("{}\r\n\r\n{}", headers.replace('\n', "\r\n"), body);
    parse(raw.as_bytes()).expect("handcrafted message parses")
}

/// Asserts that `parse` reads `raw` as `parse_whole` does, and returns that reading, if any.
#[track_caller]
fn read_as_whole(raw: &str) -> Option<Message> {
    let whole = parse_whole(raw.as_bytes());
    assert_eq!(parse(raw.as_bytes()), whole, "{raw:?}");
    whole.ok()
}

const BASE: &str = "From: Jane Doe <Jane@Example.com>\nTo: bob@example.org\nDate: Tue, 3 Mar 2026 10:00:00 +0100\nMessage-ID: <a1@example.com>\nSubject: Hello";

#[test]
fn class_strings_round_trip() {
    for class in Class::ALL {
        assert_eq!(class.as_str().parse::<Class>(), Ok(class));
    }
    assert!("nonsense".parse::<Class>().is_err());
    assert_eq!(BounceKind::Hard.as_str(), "hard");
    assert_eq!(BounceKind::Soft.as_str(), "soft");
}

#[test]
fn a_plain_message_is_human_with_its_fields() {
    let m = msg(
        &format!(
            "{BASE}\nCc: \"Carl\" <CARL@x.org>, d@y.org\nReply-To: r@x.org\nIn-Reply-To: <p@x>\nReferences: <r1@x> <yes> <p@x>"
        ),
        "Hi Bob,\r\nhow are you?\r\n",
    );
    assert_eq!(m.class, Class::Human);
    assert_eq!(m.message_id.as_deref(), Some("a1@example.com"));
    assert_eq!(
        m.from,
        Some(Address {
            address: "jane@example.com".into(),
            name: Some("Jane Doe".into())
        })
    );
    assert_eq!(
        m.cc.iter().map(|a| a.address.as_str()).collect::<Vec<_>>(),
        ["carl@x.org", "d@y.org"]
    );
    assert_eq!(m.reply_to[0].address, "r@x.org");
    assert_eq!(m.in_reply_to, ["p@x"]);
    assert_eq!(m.references, ["r1@x", "yes", "p@x"]);
    assert_eq!(
        m.date,
        Some("2026-03-03T09:00:00Z".parse().expect("valid timestamp"))
    );
    assert!(m.text.starts_with("Hi Bob,"));
    assert_eq!(m.stable_hash.len(), 64);
    assert!(m.bounce.is_none() && m.candor.is_none() && m.ooo_until.is_none());
}

#[test]
fn stable_hash_ignores_per_delivery_headers_and_sees_the_body() {
    let a = msg(
        &format!("Received: from a by b\nDelivered-To: x@y\n{BASE}"),
        "Body one",
    );
    let b = msg(&format!("Received: from c by d\n{BASE}"), "Body one");
    let c = msg(BASE, "Body two");
    assert_eq!(a.stable_hash, b.stable_hash);
    assert_ne!(a.stable_hash, c.stable_hash);
}

#[test]
fn x_candor_makes_own_whatever_else_it_carries() {
    let m = msg(
        &format!(
            "{BASE}\nx-candor: kind=follow_up_1; outbox=42; account=work\nAuto-Submitted: auto-generated\nList-Id: <l.x>"
        ),
        "",
    );
    assert_eq!(m.class, Class::Own);
    let mark = m.candor.expect("mark");
    assert_eq!(
        (mark.kind.as_str(), mark.outbox, mark.account.as_deref()),
        ("follow_up_1", Some(42), Some("work"))
    );
    let digest = classify::parse_candor_mark("kind=digest; outbox=x");
    assert_eq!(
        (digest.kind.as_str(), digest.outbox, digest.account),
        ("digest", None, None)
    );
}

#[test]
fn dsn_is_a_hard_or_soft_bounce_with_final_recipients() {
    let dsn = |status: &str, action: &str| {
        let body = format!(
            "--b\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: RFC822; <Cand@Example.COM>\r\nOriginal-Recipient: rfc822;orig@example.com\r\nAction: {action}\r\nStatus: {status}\r\n\r\n--b--\r\n"
        );
        msg(
            "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\nTo: me@x.org\nDate: Tue, 3 Mar 2026 10:00:00 +0000\nSubject: Undelivered Mail\ncontent-type: Multipart/Report; report-type=Delivery-Status; boundary=\"b\"",
            &body,
        )
    };
    let hard = dsn("5.1.1", "failed");
    assert_eq!(hard.class, Class::Bounce);
    let bounce = hard.bounce.expect("bounce details");
    assert_eq!(bounce.kind, BounceKind::Hard);
    // The address tried, then the one written to (a forwarding address).
    assert_eq!(bounce.recipients, ["cand@example.com", "orig@example.com"]);
    assert_eq!(bounce.status.as_deref(), Some("5.1.1"));
    let soft = dsn("4.4.7", "delayed").bounce.expect("bounce details");
    assert_eq!(
        (soft.kind, soft.status.as_deref()),
        (BounceKind::Soft, Some("4.4.7"))
    );
}

#[test]
fn plain_text_bounce_from_mailer_daemon() {
    let m = msg(
        "From: MAILER-DAEMON@mx.example.org\nTo: me@x.org\nDate: Tue, 3 Mar 2026 10:00:00 +0000\nSubject: failure notice",
        "Hi. This is the qmail-send program.\r\n\r\n<gone@example.com>:\r\n192.0.2.1 does not like recipient.\r\nRemote host said: 550 5.1.1 user unknown\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nReturn-Path: <me@x.org>\r\nTo: gone@example.com\r\nFrom: me@x.org\r\n",
    );
    assert_eq!(m.class, Class::Bounce);
    let bounce = m.bounce.expect("bounce details");
    assert_eq!(bounce.recipients, ["gone@example.com"]);
    assert_eq!(
        (bounce.kind, bounce.status.as_deref()),
        (BounceKind::Hard, Some("5.1.1"))
    );
    // The same sender without a failure text is a role message, not a bounce.
    let notice = msg(
        "From: postmaster@example.org\nDate: Tue, 3 Mar 2026 10:00:00 +0000\nSubject: Weekly stats",
        "All good.",
    );
    assert_eq!(notice.class, Class::Role);
}

#[test]
fn auto_reply_markers_and_subjects() {
    let headers = [
        "Auto-Submitted: auto-replied (vacation)",
        "AUTO-SUBMITTED: Auto-Generated",
        "X-Autoreply: yes",
        "X-Autorespond: Out of office",
        "Precedence: auto_reply",
        "X-Apple-Action: vacation",
    ];
    for header in headers {
        let m = msg(&format!("{BASE}\n{header}"), "I am away.");
        assert_eq!(m.class, Class::AutoReply, "{header}");
    }
    for not_a_sign in [
        "Auto-Submitted: no",
        "X-Auto-Response-Suppress: All",
        "X-Autoreply: no",
    ] {
        assert_eq!(
            msg(&format!("{BASE}\n{not_a_sign}"), "").class,
            Class::Human,
            "{not_a_sign}"
        );
    }
    let subjects = [
        "Out of Office: Hello",
        "Automatic reply: Hello",
        "Autoreply: Hello",
        "Abwesenheitsnotiz: Hallo",
        "Automatische Antwort: Hallo",
        "Réponse automatique : Bonjour",
        "Absence: Bonjour",
        "Respuesta automática: Hola",
        "Risposta automatica: Ciao",
        "Afwezig: Hallo",
        "Automatisch antwoord: Hallo",
        "Frånvaro: Hej",
        "Autosvar: Hej",
    ];
    for subject in subjects {
        let m = msg(
            &BASE.replace("Subject: Hello", &format!("Subject: {subject}")),
            "",
        );
        assert_eq!(m.class, Class::AutoReply, "{subject}");
    }
    let human = msg(
        &BASE.replace("Subject: Hello", "Subject: On the absence of bugs"),
        "",
    );
    assert_eq!(human.class, Class::Human);
}

#[test]
fn out_of_office_date_is_taken_from_the_auto_reply() {
    let m = msg(
        &format!("{BASE}\nAuto-Submitted: auto-replied"),
        "I am out of the office and back on Monday 9 March.\r\n",
    );
    assert_eq!(
        (m.class, m.ooo_until),
        (Class::AutoReply, Some(date(2026, 3, 9)))
    );
}

#[test]
fn list_and_role_senders() {
    for header in [
        "List-Id: <jobs.example.org>",
        "list-unsubscribe: <mailto:u@x>",
        "List-Post: <mailto:p@x>",
        "Precedence: bulk",
        "Precedence: LIST",
        "Precedence: junk",
    ] {
        assert_eq!(
            msg(&format!("{BASE}\n{header}"), "").class,
            Class::List,
            "{header}"
        );
    }
    for sender in [
        "MAILER-DAEMON@x.org",
        "postmaster@x.org",
        "no-reply@x.org",
        "noreply@x.org",
        "No_Reply@x.org",
        "donotreply@x.org",
        "do-not-reply@x.org",
        "do_not_reply@x.org",
        "noreply-jobs@x.org",
        "owner-list@x.org",
        "list-request@x.org",
        "bounces+123@x.org",
    ] {
        let m = msg(&BASE.replace("Jane@Example.com", sender), "");
        assert_eq!(m.class, Class::Role, "{sender}");
    }
}

#[test]
fn message_time_prefers_date_within_a_day() {
    let internal: jiff::Timestamp = "2026-03-03T12:00:00Z".parse().expect("valid");
    let near: jiff::Timestamp = "2026-03-02T13:00:00Z".parse().expect("valid");
    let far: jiff::Timestamp = "2026-03-02T11:59:59Z".parse().expect("valid");
    let future: jiff::Timestamp = "2026-03-04T12:00:01Z".parse().expect("valid");
    assert_eq!(message_time(Some(near), internal), near);
    assert_eq!(message_time(Some(far), internal), internal);
    assert_eq!(message_time(Some(future), internal), internal);
    assert_eq!(message_time(None, internal), internal);
}

#[test]
fn the_first_of_two_message_ids_wins() {
    let m = msg(&format!("{BASE}\nMessage-ID: <second@example.com>"), "");
    assert_eq!(m.message_id.as_deref(), Some("a1@example.com"));
    assert_eq!(m.extra_message_ids, ["second@example.com"]);
    let none = msg(
        &BASE.replace("Message-ID: <a1@example.com>", "Message-ID:   "),
        "",
    );
    assert_eq!(none.message_id, None);
}

#[test]
fn line_breaks_are_removed_from_names_and_subjects() {
    let m = msg(
        "From: =?utf-8?q?Jane=0D=0ABcc=3A_evil?= <j@x.org>\nDate: Tue, 3 Mar 2026 10:00:00 +0000\nSubject: =?utf-8?q?Hello=0D=0AWorld?=\n\tfolded",
        "",
    );
    let name = m.from.and_then(|a| a.name).expect("display name");
    assert!(!name.contains(['\r', '\n']), "{name:?}");
    let subject = m.subject.expect("subject");
    assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    assert!(subject.starts_with("Hello World"), "{subject:?}");
}

#[test]
fn garbage_is_unparseable_or_parsed_but_never_panics() {
    let err = parse(b"").expect_err("empty input is not an email");
    assert_eq!(
        err.to_string(),
        "not an email: no From, Date or Message-ID header"
    );
    assert!(parse(b"\0\0\0\xff\xfe").is_err());
    assert!(parse(b"just some words\nand more").is_err());
    let huge_header = format!(
        "From: a@b.c\r\nSubject: {}\r\nMessage-ID: <{}@x>\r\n\r\nbody",
        "x".repeat(1 << 20),
        "y".repeat(5000)
    );
    let m = parse(huge_header.as_bytes()).expect("a huge header still parses");
    assert!(
        m.message_id
            .is_some_and(|id| id.len() <= headers::MAX_ID_BYTES)
    );
    let nul =
        parse(b"From: a\0@b.c\r\nDate: \0\r\nSubject: \0\xff\r\n\r\n\0\0").expect("From present");
    assert_eq!(nul.date, None);
    // Random bytes, and random bytes behind a plausible header: no panic, whatever the result.
    let mut rng = rand::rng();
    for round in 0..2000 {
        let len = rand::Rng::random_range(&mut rng, 0..600);
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| rand::Rng::random::<u8>(&mut rng))
            .collect();
        if round % 2 == 0 {
            let mut with_header =
                b"From: x@y.z\r\nContent-Type: multipart/report; boundary=\"\"\r\n\r\n".to_vec();
            with_header.append(&mut bytes);
            bytes = with_header;
        }
        let _ = parse(&bytes);
    }
}

#[test]
fn cr_only_line_endings_parse() {
    let m = parse(b"From: a@b.c\rSubject: Hi\rMessage-ID: <x@y>\r\rBody\r").expect("parses");
    assert_eq!(m.subject.as_deref(), Some("Hi"));
    assert_eq!(m.message_id.as_deref(), Some("x@y"));
}

/// Fuzz regression (scripts/fuzz.sh, overflow-checked build, 2026-11-26): a message/rfc822 part
/// header glued to its boundary line trips mail-parser's debug assertion "Invalid part ID, could
/// not find multipart". The message is skipped with a reason; nothing panics out of `parse`.
#[test]
fn fuzz_regression_rfc822_part_glued_to_its_boundary_is_skipped() {
    let raw: &[u8] = b"From:>\nContent-Type: multipart/\n\tboundary=\"b-7\"\r\n\r\n\
--b-7Content-Type:message/rfc822;n\n\nContent-Type: message/rfc822\n\n\r\n--b-7--";
    match parse(raw) {
        Ok(_) => {} // a release build of mail-parser gets through it
        Err(e) => assert!(e.reason.contains("MIME parser"), "{}", e.reason),
    }
}

#[test]
fn stable_hash_is_lowercase_hex_sha256_of_the_nul_separated_fields() {
    // Stored keys derive from it (store/keys.rs): the encoding must never change (five empty
    // fields).
    assert_eq!(
        stable_hash(None, &[], &[], None, None, ""),
        "8855508aade16ec573d21e6a485dfd0a7624085c1a14b5ecdd6485de0c6839a4"
    );
}

#[test]
fn a_part_with_two_content_types_is_read_as_a_whole_message_reads_it() {
    // mail-parser takes a part's last Content-Type: this first part is a delivery report to it,
    // whose parts it looks for past the outer close delimiter, not the text/plain its first
    // header says (the fuzzer spliced two sisimai samples this way).
    let raw = "From: Mail Delivery <postmaster@example.org>\r\nTo: jane@agency.example\r\n\
        Subject: Undeliverable\r\nMessage-ID: <dsn1@example.org>\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\n\
        Content-Type: text/plain; charset=\"ISO-2022-JP\r\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n\
        preface\r\n--m\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--m--\r\n\
        --r\r\nContent-Type: text/plain\r\n\r\nDelivery to bob@example.net failed.\r\n\
        --r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
        Final-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--r--\r\n";
    read_as_whole(raw);
}

#[test]
fn a_part_header_with_a_bare_cr_is_read_as_a_whole_message_reads_it() {
    // A line of only CR and a space before the empty line that ends a text part's header, the
    // part empty: mail-parser read its text as "" from the whole message and as "\r\n" from a
    // cut that kept the header's last line break and added the delimiter's (the fuzzer found it
    // in a mimekit sample).
    let raw = "From: a@example.com\r\nTo: b@example.com\r\nSubject: t\r\n\
        Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\npreamble\r\n--XX\r\n\
        Content-Type: text/plain\r\n\r \n\r\n--XX\r\nContent-Type: image/png\r\n\
        Content-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--XX--\r\n";
    read_as_whole(raw);
}

#[test]
fn an_empty_text_part_keeps_its_bytes_through_the_shortcut() {
    // The text part's header block holds lines that are no fields; mail-parser ends the block at
    // the first of them, so the "empty" part has text. Its last line break is the delimiter's:
    // the cut must not add one (the fuzzer found it in a mimekit sample).
    let raw = "From: Doug <d@example.com>\r\nTo: j@example.com\r\nSubject: s\r\n\
        Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
        Content-Tso garbage, and you \r\nmust die in their company.  \r\n \r\n\
        Birds of a feather flock together.   \r\n\r\n--B\r\n\
        Content-Type: application/pdf\r\n\r\nJVBERi0=\r\n--B--\r\n";
    read_as_whole(raw);
}

#[test]
fn a_header_block_with_lines_that_are_no_fields_is_read_as_a_whole_message_reads_it() {
    // mail-parser ends the header block at "diff --git": for it the Content-Type below is body
    // and the message is plain text; candor's scan skips that line and would have cut the
    // message as multipart (the fuzzer spliced a notmuch patch and a sisimai bounce).
    let raw = "From: Joe <joe@example.com>\nSubject: [PATCH] x\nMessage-ID: <p@example.com>\n\
        diff --git a/x b/x\n \nMIME-Version: 1.0\n\
        Content-Type: multipart/mixed; boundary=\"=-=-=\"\n\n--=-=-=\n\
        Content-Type: text/plain\n\nhello\n\n--=-=-=\nContent-Type: application/pgp-encrypted\n\n\
        Version: 1\n--=-=-=--\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n";
    read_as_whole(raw);
    let clean = |block: &[u8]| super::headers::parse_headers(&super::headers::lossy(block)).1;
    assert!(clean(b"A: b\r\n c\r\nX-Y: \r\n"));
    for dirty in [
        &b"A: b\r\n \r\n"[..],
        b"diff --git a\n",
        b" A: b\n",
        b": b\n",
        b"A: b\n\r x\n",
    ] {
        assert!(!clean(dirty), "{dirty:?}");
    }
}

#[test]
fn a_date_that_swallows_the_next_line_is_read_as_a_whole_message_reads_it() {
    // mail-parser's date parser reads the line after `Z` or `UT` as part of the date: with the
    // Message-ID left out of what it is given, it swallowed the Subject (found in review).
    for raw in [
        "From: a@x\r\nDate: Mon, 1 Jan 2024 10:00:00 Z\r\nMessage-ID: <1@x>\r\nSubject: hello\r\n\r\nbody\r\n",
        "From: a@x\nDate: Mon, 1 Jan 2024 10:00:00 UT\nMessage-ID: <1@x>\nSubject: hello\n\nbody\n",
    ] {
        let whole = read_as_whole(raw);
        assert!(
            whole
                .as_ref()
                .is_some_and(|m| m.subject.as_deref() == Some("hello")),
            "{whole:?}"
        );
    }
}

#[test]
fn a_text_part_mail_parser_cannot_decode_is_read_as_a_whole_message_reads_it() {
    // A stray character in the base64 of the text part: mail-parser no longer takes it as the
    // text and converts the HTML part instead, which a cut after the text part had left out
    // (found in review). Under multipart/alternative it keeps the broken part as the text.
    for container in ["mixed", "alternative"] {
        let raw = format!(
            "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n\
            Content-Type: multipart/{container}; boundary=\"B\"\r\n\r\n--B\r\n\
            Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n\
            aGVsbG8g!d29ybGQ=\r\n--B\r\nContent-Type: text/html\r\n\r\n<p>hello html</p>\r\n--B--\r\n"
        );
        let whole = read_as_whole(&raw);
        if container == "mixed" {
            assert!(
                whole
                    .as_ref()
                    .is_some_and(|m| m.text.contains("hello html")),
                "{whole:?}"
            );
        }
    }
}

#[test]
fn a_soft_break_before_a_delimiter_keeps_its_own_line_break() {
    // Mixed line endings: the quoted-printable soft break before the delimiter is a bare LF in a
    // message that has CRLFs elsewhere. The cut must end the part with that LF, not a CRLF, or
    // mail-parser drops one more character (found in review).
    for ending in ["=\n", "ab=\n", "ab\n", "ab=\r\n"] {
        let raw = format!(
            "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n\
            Content-Type: multipart/alternative; boundary=\"B\"\r\n\r\n--B\r\n\
            Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
            hello world {ending}--B\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--B--\r\n"
        );
        read_as_whole(&raw);
    }
}

#[test]
fn a_delimiter_in_the_middle_of_a_line_is_one_for_mail_parser() {
    // mail-parser looks for `--boundary` anywhere, not only at the start of a line: here the
    // "attachment" ends in the middle of its line and a delivery report follows, which a cut
    // after the text part had left out (the fuzzer spliced an IMAP sample and a sisimai bounce).
    let raw = "From: a@example.com\r\nTo: b@example.com\r\n\
        Subject: s\r\nContent-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n\
        Content-Type: text/plain\r\n\r\nhello\r\n--x\r\nContent-Type: application/octet-stream\r\n\r\n\
        abc--x\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n\
        Final-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--x--\r\n";
    let whole = read_as_whole(raw);
    assert!(
        whole.as_ref().is_some_and(|m| m.bounce.is_some()),
        "{whole:?}"
    );
    // The same at the end of the preamble and of the text part.
    for raw in [
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n\
            Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\npreamble--x\r\n\
            Content-Type: text/html\r\n\r\n<p>html</p>\r\n--x\r\nContent-Type: text/plain\r\n\r\n\
            plain\r\n--x\r\nContent-Type: image/png\r\n\r\nAAAA\r\n--x--\r\n",
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n\
            Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n\
            Content-Type: text/plain\r\n\r\nplain --x\r\nContent-Type: text/plain\r\n\r\nsecond\r\n\
            --x\r\nContent-Type: image/png\r\n\r\nAAAA\r\n--x--\r\n",
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n\
            Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n--x\r\n\
            Content-Type: text/plain\r\n\r\nplain\r\n--x \t\r\nContent-Type: image/png\r\n\r\nAA\r\n\
            --x --\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; c@d.example\r\n\
            Action: failed\r\nStatus: 5.1.1\r\n\r\n--x--\r\n",
    ] {
        read_as_whole(raw);
    }
}

#[test]
fn a_date_that_hides_the_content_type_from_mail_parser_takes_no_shortcut() {
    // With a letter where the zone goes, mail-parser's date parser takes the next two bytes as
    // the rest of a zone name: when they hold the line break, the next line becomes part of the
    // date. The Content-Type below it is not seen and the message is one text part for
    // mail-parser, multipart for candor's scan (the fuzzer found `+er` before an LF).
    for zone in ["+er", "Z", "UT"] {
        for eol in ["\n", "\r\n"] {
            let raw = format!(
                "From: a@example.com{eol}To: b@example.com{eol}\
                Date: Sat, 10 Oct 2009 00:30:04 {zone}{eol}\
                Content-Type: multipart/alternative; boundary=inner{eol}{eol}--inner{eol}\
                Content-Type: text/plain{eol}{eol}Hello{eol}--inner{eol}\
                Content-Type: text/html{eol}{eol}<p>Hello</p>{eol}--inner--{eol}"
            );
            let whole = read_as_whole(&raw);
            if zone == "+er" && eol == "\n" {
                assert!(
                    whole
                        .as_ref()
                        .is_some_and(|m| m.text.contains("<p>Hello</p>")),
                    "{whole:?}"
                );
            }
        }
    }
}

/// Found in review: a bounce notice whose full lowercasing kept the total length but moved the
/// bytes (the Ohm sign shrinks, "İ" grows) had its text cut inside a character: a panic that
/// stopped the account's ingest at that message on every pass.
#[test]
fn a_notice_whose_lowercase_moves_bytes_is_read_without_panic() {
    let raw = "From: MAILER-DAEMON@example.com\r\nTo: jane@agency.example\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: Tue, 1 Sep 2026 10:00:00 +0000\r\nMessage-ID: <b1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\u{2126}returned message \u{130}\r\n";
    let message = read_as_whole(raw).expect("the notice parses");
    assert_eq!(message.class, Class::Bounce);
}

/// Bodies built from characters whose case mapping changes their length, mixed with the phrases
/// the classifier, bounce and out-of-office readers look for: none makes the reader panic.
#[test]
fn case_mapping_traps_never_panic() {
    use rand::{Rng as _, SeedableRng as _};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let pieces = [
        "\u{2126}",
        "\u{130}",
        "\u{212A}",
        "\u{1E9E}",
        "\u{23A}",
        "\u{2C65}",
        "ß",
        "İ",
        " ",
        "\n",
        "\r\n",
        "returned message",
        "original message follows",
        "Received: x",
        "5.1.1",
        "4.2.2",
        "x@y.com",
        "back on 3 March",
        "On Mon, 2 Mar 2026 Jane wrote:",
        "> q",
        "-----Original Message-----",
        "From: a\nSent: b",
        "bis 12.03.2027",
        "Final-Recipient: rfc822; a@b.c",
        "Status: 5.0.0",
        "--",
        "delayed",
        "to: a@b.cd",
        "Mo\u{308}",
        "\u{FB03}",
        "ǅ",
        "\u{10400}",
    ];
    let heads = [
        "From: MAILER-DAEMON@example.com\r\nTo: jane@agency.example\r\nSubject: Undelivered Mail\r\n",
        "From: bob@example.com\r\nTo: jane@agency.example\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n",
        "From: bob@example.com\r\nTo: jane@agency.example\r\nSubject: Re: role\r\n",
    ];
    for i in 0..6000 {
        let mut body = String::new();
        for _ in 0..rng.random_range(1..12) {
            body.push_str(pieces[rng.random_range(0..pieces.len())]);
        }
        let raw = format!(
            "{}Date: Tue, 1 Sep 2026 10:00:00 +0000\r\nMessage-ID: <{i}@x>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
            heads[i % 3]
        );
        let read = std::panic::catch_unwind(|| parse_with(raw.as_bytes(), true, None));
        assert!(read.is_ok(), "panic on {body:?}");
        let whole = std::panic::catch_unwind(|| parse_whole(raw.as_bytes()));
        assert!(whole.is_ok(), "panic on {body:?}");
    }
}

#[test]
fn a_read_receipt_is_an_automatic_reply_not_a_human_answer() {
    // Thunderbird's "return receipt": no auto-reply header, only the report (found in review).
    let receipt = msg(
        "From: Ann Lee <ann@c.example>\nTo: jane@agency.example\nDate: Tue, 3 Mar 2026 10:05:00 +0100\nMessage-ID: <mdn1@c.example>\nIn-Reply-To: <q1@agency.example>\nSubject: Read: Backend role\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=disposition-notification; boundary=\"b1\"",
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message was displayed on Tue, 3 Mar 2026 10:05.\r\n--b1\r\nContent-Type: message/disposition-notification\r\n\r\nReporting-UA: c.example; Thunderbird\r\nFinal-Recipient: rfc822;ann@c.example\r\nOriginal-Message-ID: <q1@agency.example>\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n--b1--\r\n",
    );
    assert_eq!(receipt.class, Class::AutoReply);
    assert_eq!(
        receipt.ooo_until, None,
        "the date it was read is no return date"
    );
    // The global variant (RFC 6533), as a part of a mixed message.
    let global = msg(
        "From: ann@c.example\nTo: jane@agency.example\nDate: Tue, 3 Mar 2026 10:05:00 +0100\nMessage-ID: <mdn2@c.example>\nSubject: Gelesen: Backend role\nContent-Type: multipart/mixed; boundary=\"b2\"",
        "--b2\r\nContent-Type: text/plain\r\n\r\nGelesen.\r\n--b2\r\nContent-Type: message/global-disposition-notification\r\n\r\nFinal-Recipient: rfc822;ann@c.example\r\nDisposition: automatic-action/MDN-sent-automatically; displayed\r\n--b2--\r\n",
    );
    assert_eq!(global.class, Class::AutoReply);
    // A person who writes about receipts is still a person.
    let human = msg(
        "From: ann@c.example\nTo: jane@agency.example\nDate: Tue, 3 Mar 2026 10:05:00 +0100\nMessage-ID: <h1@c.example>\nSubject: Re: Backend role",
        "Did you get my read receipt (message/disposition-notification)? Happy to talk.\r\n",
    );
    assert_eq!(human.class, Class::Human);
}

#[test]
fn a_delivery_receipt_is_no_bounce() {
    // A success DSN (RFC 3464 Action: delivered, relayed or expanded; Status 2.x.x), as Postfix
    // sends for NOTIFY=SUCCESS and Exchange for Outlook's "request a delivery receipt": the
    // candidate's address works (found in review: it was a hard bounce, the candidate bounced).
    let receipt = |action: &str, subject: &str| {
        msg(
            &format!(
                "From: MAILER-DAEMON@mx.agency.example (Mail Delivery System)\nTo: jane@agency.example\nDate: Tue, 3 Mar 2026 10:00:02 +0000\nMessage-ID: <dsn1@mx.agency.example>\nSubject: {subject}\nAuto-Submitted: auto-replied\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\""
            ),
            &format!(
                "--b\r\nContent-Type: text/plain\r\n\r\nYour message was successfully delivered to the destination(s) listed below.\r\n\r\n<ann@c.example>: delivery via mx.c.example: 250 2.0.0 Ok\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.agency.example\r\n\r\nFinal-Recipient: rfc822; ann@c.example\r\nOriginal-Recipient: rfc822;ann@c.example\r\nAction: {action}\r\nStatus: 2.0.0\r\n\r\n--b--\r\n"
            ),
        )
    };
    for (action, subject) in [
        ("delivered", "Successful Mail Delivery Report"),
        ("relayed", "Delivery Status Notification (Relay)"),
        ("expanded", "Delivered: Backend role"),
    ] {
        let m = receipt(action, subject);
        assert_eq!((m.class, &m.bounce), (Class::AutoReply, &None), "{action}");
        assert_eq!(m.ooo_until, None, "{action}");
    }
    // One recipient delivered and one failed is still a bounce for the failed one.
    let mixed = msg(
        "From: MAILER-DAEMON@mx.agency.example\nTo: jane@agency.example\nDate: Tue, 3 Mar 2026 10:00:02 +0000\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"",
        "--b\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.agency.example\r\n\r\nFinal-Recipient: rfc822; ann@c.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\nFinal-Recipient: rfc822; gone@c.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n",
    );
    assert_eq!(mixed.class, Class::Bounce);
    assert_eq!(mixed.bounce.map(|b| b.kind), Some(BounceKind::Hard));
}

#[test]
fn a_person_answering_an_automatic_reply_is_human() {
    // The owner answers the candidate's out-of-office reply (the latest mail of the thread), or
    // a candidate the owner's: the reply prefix keeps the auto-reply's subject (found in review:
    // the answer was an auto_reply, so it opened and closed no wait).
    for subject in [
        "Re: Out of Office: Backend role",
        "RE: Automatic reply: Backend role",
        "AW: Automatische Antwort: Backend role",
        "Re: [Jobs] Autoreply: Backend role",
        "Fwd: Abwesenheitsnotiz: Backend role",
        "SV: Autosvar: Backend role",
    ] {
        let m = msg(
            &BASE.replace("Subject: Hello", &format!("Subject: {subject}")),
            "Hi Ann, enjoy your holiday; shall we talk on the 12th?\r\n",
        );
        assert_eq!(m.class, Class::Human, "{subject}");
    }
    // Auto-replies themselves, also those that keep the original subject after their own words
    // or mark it at the end, stay automatic; and any marker header makes one.
    for subject in [
        "Automatic reply: Re: Backend role",
        "Out of Office: RE: Backend role",
        "Re: Backend role (out of office)",
        "[support #33575] AutoReply: FYI",
    ] {
        let m = msg(
            &BASE.replace("Subject: Hello", &format!("Subject: {subject}")),
            "I am away.",
        );
        assert_eq!(m.class, Class::AutoReply, "{subject}");
    }
    let marked = msg(
        &BASE.replace(
            "Subject: Hello",
            "Subject: Re: Out of Office: Backend role\nAuto-Submitted: auto-replied",
        ),
        "I am away.",
    );
    assert_eq!(marked.class, Class::AutoReply);
}

#[test]
fn a_recipient_delivered_in_a_mixed_report_is_not_bounced() {
    // One report for two recipients (a sender that asked for success notices too): the one
    // delivered is no bounced recipient (found in review: both were, and the candidate whose
    // mail arrived became bounced).
    let m = msg(
        "From: MAILER-DAEMON@mx.agency.example\nTo: jane@agency.example\nDate: Tue, 3 Mar 2026 10:00:02 +0000\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"",
        "--b\r\nContent-Type: text/plain\r\n\r\nOne of the recipients failed.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.agency.example\r\n\r\nFinal-Recipient: rfc822; ann@c.example\r\nAction: delivered\r\nStatus: 2.0.0\r\n\r\nFinal-Recipient: rfc822; gone@c.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n",
    );
    assert_eq!(m.class, Class::Bounce);
    let bounce = m.bounce.expect("bounce details");
    assert_eq!(
        (bounce.kind, bounce.recipients),
        (BounceKind::Hard, vec!["gone@c.example".to_owned()])
    );
}

#[test]
fn a_bounce_through_a_forwarding_address_names_the_address_written_to() {
    // Postfix at a forwarding domain (an alumni address, a vanity domain) expanded the
    // candidate's address to one that no longer exists: Final-Recipient is where it tried,
    // Original-Recipient the address the owner wrote to (found in review: only the former was
    // kept, so the candidate was never bounced and every follow-up bounced again).
    let m = msg(
        "From: MAILER-DAEMON@mx.alumni.example (Mail Delivery System)\nTo: jane@agency.example\nDate: Tue, 3 Mar 2026 10:00:02 +0000\nSubject: Undelivered Mail Returned to Sender\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"",
        "--b\r\nContent-Type: text/plain\r\n\r\n<ann@oldjob.example> (expanded from <ann@alumni.example>): host mx.oldjob.example said: 550 5.1.1 User unknown\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.alumni.example\r\n\r\nFinal-Recipient: rfc822; ann@oldjob.example\r\nOriginal-Recipient: rfc822;ann@alumni.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--b--\r\n",
    );
    let bounce = m.bounce.expect("bounce details");
    assert_eq!(bounce.kind, BounceKind::Hard);
    assert_eq!(
        bounce.recipients,
        ["ann@oldjob.example", "ann@alumni.example"]
    );
}
