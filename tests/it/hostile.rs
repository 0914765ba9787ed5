//! Hostile input through the real stack: a table of nasty messages seeded into a real Dovecot,
//! synced by the real binary. Every message is stored or recorded as skipped with a reason, the
//! sync completes, nothing panics and `candor stats --json` agrees with the store. Each case is
//! also fed whole to `mail::parse`, which sees more than the IMAP layer's body prefix.
//!
//! Crashes the fuzzers (`scripts/fuzz.sh`) find become regression tests here; none so far
//! (RELIABILITY.md has the runs).

use std::collections::BTreeMap;
use std::time::Instant;

use candor::testkit::{MailStack, SeedMessage};
use jiff::Timestamp;

use crate::support::{TestConfig, account_toml, candor, text, write_config};

/// One nasty message: its name (also written into an `X-Case` header where the case allows a
/// header), its bytes, its INTERNALDATE, and whether it must be stored (a case that is barely an
/// email may be skipped, but then with a reason).
struct Case {
    name: &'static str,
    raw: Vec<u8>,
    internal_date: Timestamp,
    must_store: bool,
}

fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).expect("now is a valid timestamp")
}

/// A message with `headers` (CRLF-terminated lines) and `body`, marked with its case name.
fn mail(name: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut raw = format!("X-Case: {name}\r\n{headers}\r\n").into_bytes();
    raw.extend_from_slice(body);
    raw
}

fn plain(name: &str, extra: &str, body: &str) -> Vec<u8> {
    mail(
        name,
        &format!(
            "From: Sender <sender@candidates.example>\r\nTo: jane@agency.example\r\n\
             Subject: case {name}\r\nMessage-ID: <{name}@candidates.example>\r\n\
             Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n{extra}"
        ),
        body.as_bytes(),
    )
}

/// `depth` nested multipart/mixed parts around one text part.
fn deep_mime(depth: usize) -> Vec<u8> {
    let mut body = String::new();
    for level in 0..depth {
        body.push_str(&format!(
            "--b{level}\r\nContent-Type: multipart/mixed; boundary=\"b{}\"\r\n\r\n",
            level + 1
        ));
    }
    body.push_str(&format!(
        "--b{depth}\r\nContent-Type: text/plain\r\n\r\nthe innermost text\r\n--b{depth}--\r\n"
    ));
    for level in (0..depth).rev() {
        body.push_str(&format!("--b{level}--\r\n"));
    }
    plain(
        "deep_mime",
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b0\"\r\n",
        &body,
    )
}

fn cases() -> Vec<Case> {
    let now = now();
    let case = |name, raw, must_store| Case {
        name,
        raw,
        internal_date: now,
        must_store,
    };
    let huge_header_lines: String = (0..20_000)
        .map(|i| format!("X-Junk-{i}: {}\r\n", "j".repeat(40)))
        .collect();
    let long_line = format!("X-Long: {}\r\n", "L".repeat(200_000));
    let folded_subject = format!("Subject:{}\r\n", " word\r\n".repeat(20_000));
    let recipients: Vec<String> = (0..10_000)
        .map(|i| format!("Person {i} <p{i}@candidates.example>"))
        .collect();
    let to = format!(
        "To: jane@agency.example,\r\n {}\r\n",
        recipients.join(",\r\n ")
    );
    let long_id = format!("{}@candidates.example", "i".repeat(10 * 1024));
    let bad_words: String = (0..5_000).map(|_| "=?x-klingon?B?////?= ").collect();
    let mut nul = plain("nul_bytes", "", "before\0after\0\0\r\n");
    // A NUL inside a header value too.
    nul.splice(0..0, b"X-Nul: a\0b\r\n".iter().copied());
    let loop_a = plain(
        "references_loop_a",
        "In-Reply-To: <references_loop_b@candidates.example>\r\n\
         References: <references_loop_b@candidates.example> <references_loop_a@candidates.example>\r\n",
        "A answers B.",
    );
    let loop_b = plain(
        "references_loop_b",
        "In-Reply-To: <references_loop_a@candidates.example>\r\n\
         References: <references_loop_a@candidates.example> <references_loop_b@candidates.example>\r\n",
        "B answers A.",
    );
    let self_loop = plain(
        "references_self",
        "In-Reply-To: <references_self@candidates.example>\r\n\
         References: <references_self@candidates.example>\r\n",
        "I answer myself.",
    );
    let epoch = Timestamp::from_second(1).expect("1 s after the epoch");
    let y2099 = Timestamp::from_second(4_070_908_800).expect("2099 is representable");
    vec![
        case(
            "huge_header_block",
            plain("huge_header_block", &huge_header_lines, "hi"),
            true,
        ),
        case(
            "huge_single_header",
            plain("huge_single_header", &long_line, "hi"),
            true,
        ),
        case(
            "huge_folded_subject",
            mail(
                "huge_folded_subject",
                &format!(
                    "From: sender@candidates.example\r\nTo: jane@agency.example\r\n\
                     Message-ID: <huge_folded_subject@candidates.example>\r\n{folded_subject}"
                ),
                b"hi",
            ),
            true,
        ),
        case(
            "ten_thousand_recipients",
            mail(
                "ten_thousand_recipients",
                &format!(
                    "From: sender@candidates.example\r\n{to}Subject: to everyone\r\n\
                     Message-ID: <ten_thousand_recipients@candidates.example>\r\n\
                     Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n"
                ),
                b"hello all",
            ),
            true,
        ),
        case("deep_mime", deep_mime(5_000), true),
        case(
            "invalid_charsets",
            plain(
                "invalid_charsets",
                &format!(
                    "X-Bad-Words: {bad_words}\r\nMIME-Version: 1.0\r\n\
                     Content-Type: text/plain; charset=\"x-unknown-klingon\"\r\n\
                     Content-Transfer-Encoding: quoted-printable\r\n"
                ),
                "caf=E9 =FF=FE=00 na=C3=AFve =ZZ broken=",
            ),
            true,
        ),
        case(
            "latin1_headers_base64_garbage",
            {
                let mut raw = plain(
                    "latin1_headers_base64_garbage",
                    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
                     Content-Transfer-Encoding: base64\r\n",
                    "!!!not*base64%%%\r\n====\r\n",
                );
                // Raw 8-bit Latin-1 in a header: invalid UTF-8.
                raw.splice(0..0, b"X-Name: Ren\xe9 M\xfcller\r\n".iter().copied());
                raw
            },
            true,
        ),
        case("nul_bytes", nul, true),
        case(
            "ten_kb_message_id",
            mail(
                "ten_kb_message_id",
                &format!(
                    "From: sender@candidates.example\r\nTo: jane@agency.example\r\n\
                     Subject: a long id\r\nMessage-ID: <{long_id}>\r\n\
                     In-Reply-To: <{long_id}>\r\nReferences: <{long_id}> <{long_id}>\r\n"
                ),
                b"hi",
            ),
            true,
        ),
        Case {
            name: "date_1970",
            raw: mail(
                "date_1970",
                "From: sender@candidates.example\r\nTo: jane@agency.example\r\n\
                 Subject: from the epoch\r\nMessage-ID: <date_1970@candidates.example>\r\n\
                 Date: Thu, 01 Jan 1970 00:00:01 +0000\r\n",
                b"hello from 1970",
            ),
            internal_date: epoch,
            must_store: true,
        },
        Case {
            name: "date_header_1970_delivered_now",
            raw: mail(
                "date_header_1970_delivered_now",
                "From: sender@candidates.example\r\nTo: jane@agency.example\r\n\
                 Subject: old clock\r\nMessage-ID: <date_header_1970@candidates.example>\r\n\
                 Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n",
                b"my clock is wrong",
            ),
            internal_date: now,
            must_store: true,
        },
        Case {
            name: "date_2099",
            raw: mail(
                "date_2099",
                "From: sender@candidates.example\r\nTo: jane@agency.example\r\n\
                 Subject: from the future\r\nMessage-ID: <date_2099@candidates.example>\r\n\
                 Date: Thu, 31 Dec 2099 23:59:59 +0000\r\n",
                b"hello from 2099",
            ),
            internal_date: y2099,
            must_store: true,
        },
        case(
            "absurd_dates",
            mail(
                "absurd_dates",
                "From: sender@candidates.example\r\nTo: jane@agency.example\r\n\
                 Subject: absurd\r\nMessage-ID: <absurd_dates@candidates.example>\r\n\
                 Date: Sun, 99 Foo 99999 99:99:99 +9999\r\n",
                b"x",
            ),
            true,
        ),
        case("references_loop_a", loop_a, true),
        case("references_loop_b", loop_b, true),
        case("references_self", self_loop, true),
        case(
            "header_injection_in_encoded_name",
            mail(
                "header_injection_in_encoded_name",
                "From: =?utf-8?q?Ann=0D=0ABcc=3A_evil=40evil=2Eexample?= <ann@candidates.example>\r\n\
                 To: jane@agency.example\r\nSubject: =?utf-8?q?hi=0D=0ABcc=3A_evil=40evil=2Eexample?=\r\n\
                 Message-ID: <header_injection_in_encoded_name@candidates.example>\r\n",
                b"hi",
            ),
            true,
        ),
        case(
            "unterminated_multipart",
            plain(
                "unterminated_multipart",
                "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"never\"\r\n",
                "--never\r\nContent-Type: text/html\r\n\r\n<p><b><i>unclosed",
            ),
            true,
        ),
        case(
            "bare_cr_and_lf",
            b"X-Case: bare_cr_and_lf\rFrom: sender@candidates.example\nTo: jane@agency.example\r\
              Message-ID: <bare_cr_and_lf@candidates.example>\n\nbody\rmore"
                .to_vec(),
            false,
        ),
        case(
            "binary_garbage",
            b"\x00\x01\x02\xff\xfe X-Case: binary_garbage".to_vec(),
            false,
        ),
        case(
            "headers_only_no_body",
            b"X-Case: headers_only_no_body\r\nSubject: x".to_vec(),
            false,
        ),
    ]
}

/// The store's verdict on every UID of jane's INBOX: stored, or skipped with its reason.
fn verdicts(config: &TestConfig) -> BTreeMap<u32, Result<(), String>> {
    let db = config.path.with_file_name("candor.db");
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut out = BTreeMap::new();
    let mut stored = conn
        .prepare("SELECT l.uid FROM locations l JOIN folders f ON f.id = l.folder_id WHERE f.name = 'INBOX'")
        .unwrap();
    for uid in stored.query_map([], |r| r.get::<_, i64>(0)).unwrap() {
        out.insert(uid.unwrap() as u32, Ok(()));
    }
    let mut skipped = conn
        .prepare("SELECT s.uid, s.reason FROM skipped s JOIN folders f ON f.id = s.folder_id WHERE f.name = 'INBOX'")
        .unwrap();
    for row in skipped
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .unwrap()
    {
        let (uid, reason) = row.unwrap();
        let previous = out.insert(uid as u32, Err(reason));
        assert!(previous.is_none(), "uid {uid} both stored and skipped");
    }
    out
}

/// The case name in a raw message: the `X-Case` marker, wherever the line breaks are odd.
fn case_name(raw: &[u8]) -> String {
    let raw = String::from_utf8_lossy(raw);
    raw.split("X-Case: ")
        .nth(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn nasty_messages_are_stored_or_skipped_with_a_reason_and_the_sync_completes() {
    let cases = cases();
    // First the parser alone, on the whole bytes (the IMAP layer fetches only a prefix).
    for case in &cases {
        let started = Instant::now();
        let parsed = candor::mail::parse(&case.raw);
        let took = started.elapsed();
        println!(
            "parse {:<34} {:>8} bytes: {:<5} in {took:?}",
            case.name,
            case.raw.len(),
            if parsed.is_ok() { "ok" } else { "refused" },
        );
        if case.must_store {
            assert!(parsed.is_ok(), "{} parses: {parsed:?}", case.name);
        }
        if let Ok(message) = parsed {
            let names = message
                .to
                .iter()
                .chain(&message.from)
                .filter_map(|a| a.name.as_ref());
            for name in names {
                assert!(!name.contains(['\r', '\n']), "{}: name {name:?}", case.name);
            }
            let subject = message.subject.unwrap_or_default();
            assert!(!subject.contains(['\r', '\n']), "{}: subject", case.name);
            assert!(
                message.message_id.is_none_or(|id| id.len() <= 998),
                "{}",
                case.name
            );
        }
    }

    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let seeds: Vec<SeedMessage> = cases
        .iter()
        .map(|case| SeedMessage {
            raw: case.raw.clone(),
            internal_date: case.internal_date,
            flags: "S".to_owned(),
        })
        .collect();
    stack.seed(&jane, "INBOX", &seeds).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);

    let started = Instant::now();
    let out = candor(&config, &["sync"]);
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "the sync completes: {}",
        text(&out.stderr)
    );
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
    println!("sync of {} nasty messages took {took:?}", cases.len());
    // The policy and the reports read what was stored: they must survive it too.
    for args in [&["run", "--once"][..], &["plan"][..], &["candidates"][..]] {
        let out = candor(&config, args);
        assert!(
            out.status.success(),
            "candor {args:?}: {}",
            text(&out.stderr)
        );
    }

    // Every UID is accounted for, and each case as its table says.
    let on_server = stack.read_folder(&jane, "INBOX").await.unwrap();
    assert_eq!(on_server.len(), cases.len(), "Dovecot holds every case");
    let first = verdicts(&config);
    let mut skipped = 0;
    for message in &on_server {
        let name = case_name(&message.raw);
        let case = cases
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("uid {} has no known case ({name:?})", message.uid));
        let verdict = first
            .get(&message.uid)
            .unwrap_or_else(|| panic!("{name} (uid {}) neither stored nor skipped", message.uid));
        match verdict {
            Ok(()) => println!("  {name:<34} stored"),
            Err(reason) => {
                skipped += 1;
                println!("  {name:<34} skipped: {reason}");
                assert!(!reason.trim().is_empty(), "{name} skipped without a reason");
                assert!(
                    !case.must_store,
                    "{name} must be stored, was skipped: {reason}"
                );
            }
        }
    }

    // stats agrees with the store, over a window wide enough for 1970 and 2099.
    let out = candor(
        &config,
        &[
            "stats",
            "--json",
            "--since",
            "1969-01-01",
            "--until",
            "2100-06-01",
        ],
    );
    assert!(out.status.success(), "stats: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &json["accounts"][0];
    println!("stats: {s}");
    assert_eq!(s["skipped"].as_u64(), Some(skipped), "{s}");
    let stored = (cases.len() as u64) - skipped;
    assert_eq!(s["folders"]["INBOX"].as_u64(), Some(stored), "{s}");
    assert_eq!(s["messages"].as_u64(), Some(stored), "{s}");
    let classes: u64 = s["classes"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(classes, stored, "classes add up: {s}");

    // A second sync finds nothing new and changes nothing (the cursor moved past everything).
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "second sync: {}", text(&out.stderr));
    assert_eq!(verdicts(&config), first, "a second sync changes nothing");
}
