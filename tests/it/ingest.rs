//! IMAP ingest against the real Dovecot: stored once, incremental, read-only, pushed by IDLE,
//! robust to UIDVALIDITY changes, broken messages and broken accounts.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use candor::testkit::{MailStack, SeedMessage};

use crate::support::{account_toml, candor, message, stats, text, wait_until, write_config};

fn days_ago(days: i64) -> jiff::Timestamp {
    jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days)
}

fn seed(raw: Vec<u8>, at: jiff::Timestamp) -> SeedMessage {
    SeedMessage {
        raw,
        internal_date: at,
        flags: String::new(),
    }
}

/// Flags of every message of a folder, by UID: what "no flag changes" compares.
async fn flags_of(
    stack: &MailStack,
    user: &candor::testkit::StackUser,
    folder: &str,
) -> Vec<(u32, Vec<String>)> {
    stack
        .read_folder(user, folder)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.uid, m.flags))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn inbox_and_sent_are_stored_once_incrementally_without_touching_flags() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let t0 = days_ago(3);
    let question = message(
        "Jane Doe <jane@agency.example>",
        "Ann Lee <ann@candidates.example>",
        "Backend role",
        "q1@agency.example",
        t0,
        "",
        "Hi Ann, would you be open to a chat?",
    );
    let answer = message(
        "Ann Lee <ann@candidates.example>",
        "Jane Doe <jane@agency.example>",
        "Re: Backend role",
        "a1@candidates.example",
        days_ago(2),
        "In-Reply-To: <q1@agency.example>\r\nReferences: <q1@agency.example>\r\n",
        "Yes, happy to talk.",
    );
    // The same message in both folders (a Bcc to self): one message, two locations.
    stack
        .seed(
            &jane,
            "INBOX",
            &[seed(answer, days_ago(2)), seed(question.clone(), t0)],
        )
        .unwrap();
    stack.seed(&jane, "Sent", &[seed(question, t0)]).unwrap();
    let inbox_flags = flags_of(&stack, &jane, "INBOX").await;
    let sent_flags = flags_of(&stack, &jane, "Sent").await;

    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "sync failed: {}", text(&out.stderr));
    let s = stats(&config, "jane");
    assert_eq!(s["messages"], 2, "{s}");
    assert_eq!(s["folders"]["INBOX"], 2, "{s}");
    assert_eq!(s["folders"]["Sent"], 1, "{s}");
    assert_eq!(s["classes"]["human"], 2, "{s}");
    assert_eq!(s["skipped"], 0, "{s}");
    assert!(s["last_sync"].as_str().is_some(), "{s}");

    // A second sync fetches nothing.
    sync_reports(&config, "jane: 0 fetched, 0 new");

    // New mail is picked up.
    let later = message(
        "Ann Lee <ann@candidates.example>",
        "jane@agency.example",
        "Re: Backend role",
        "a2@candidates.example",
        jiff::Timestamp::now(),
        "In-Reply-To: <q1@agency.example>\r\n",
        "One more thing.",
    );
    stack
        .submit(
            &jane,
            "ann@candidates.example",
            &["jane@agency.example"],
            &later,
        )
        .await
        .unwrap();
    let (arrived, _) = wait_until(Duration::from_secs(20), || {
        futures::executor::block_on(stack.read_folder(&jane, "INBOX"))
            .map(|m| m.len() == 3)
            .unwrap_or(false)
    });
    assert!(arrived, "the submitted message reached the INBOX");
    sync_reports(&config, "jane: 1 fetched, 1 new");
    assert_eq!(stats(&config, "jane")["messages"], 3);

    // candor never changed a flag (EXAMINE and BODY.PEEK only).
    let inbox_after: Vec<_> = flags_of(&stack, &jane, "INBOX")
        .await
        .into_iter()
        .take(2)
        .collect();
    assert_eq!(inbox_after, inbox_flags, "INBOX flags unchanged");
    assert_eq!(
        flags_of(&stack, &jane, "Sent").await,
        sent_flags,
        "Sent flags unchanged"
    );
    let third = flags_of(&stack, &jane, "INBOX").await.pop().unwrap();
    assert!(
        !third.1.iter().any(|f| f == "\\Seen"),
        "new mail not marked seen: {third:?}"
    );
}

/// One application per number of `numbers`, sent at `at(number)`.
fn applications(
    numbers: std::ops::Range<usize>,
    at: impl Fn(usize) -> jiff::Timestamp,
) -> Vec<SeedMessage> {
    numbers
        .map(|i| {
            let at = at(i);
            seed(
                message(
                    &format!("c{i}@candidates.example"),
                    "jane@agency.example",
                    &format!("Application {i}"),
                    &format!("app{i}@candidates.example"),
                    at,
                    "",
                    "Hello, please find my CV.",
                ),
                at,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn uidvalidity_change_rescans_without_loss_or_duplicates() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let messages = applications(0..20, |i| days_ago(30 - i as i64));
    stack.seed(&jane, "Candidates", &messages).unwrap();
    let config = write_config(&[&|dir| {
        account_toml(
            &stack,
            "jane",
            &jane,
            dir,
            "\n[account.scope]\nmode = \"folders\"\nfolders = [\"Candidates\"]\n",
        )
    }]);
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stats(&config, "jane")["folders"]["Candidates"], 20);

    // The folder is recreated with the same messages: a new UIDVALIDITY.
    stack.delete_folder(&jane, "Candidates").unwrap();
    stack.seed(&jane, "Candidates", &messages).unwrap();
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = stats(&config, "jane");
    assert_eq!(s["messages"], 20, "nothing duplicated: {s}");
    assert_eq!(
        s["folders"]["Candidates"], 20,
        "every message located again: {s}"
    );
}

/// `candor sync` succeeds and its report contains `expected` (e.g. "jane: 1 fetched, 1 new").
fn sync_reports(config: &crate::support::TestConfig, expected: &str) {
    let out = candor(config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(expected),
        "{}",
        text(&out.stdout)
    );
}

/// Seeds applications `inbox` into INBOX and `sent` into Sent, one a minute.
fn seed_inbox_and_sent(
    stack: &MailStack,
    user: &candor::testkit::StackUser,
    inbox: std::ops::Range<usize>,
    sent: std::ops::Range<usize>,
) {
    stack
        .seed(user, "INBOX", &applications(inbox, every_minute))
        .unwrap();
    stack
        .seed(user, "Sent", &applications(sent, every_minute))
        .unwrap();
}

/// Application `i` sent `i` minutes after a day 40 days ago.
fn every_minute(i: usize) -> jiff::Timestamp {
    days_ago(40) + jiff::SignedDuration::from_mins(i as i64)
}

#[tokio::test(flavor = "multi_thread")]
async fn folders_of_several_fetch_ranges_are_stored_once_with_pipelined_commands() {
    // 500 UIDs per FETCH command, two commands in flight: 1300 messages are three ranges, and
    // the ranges after an expunge start past the old ones.
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    stack
        .seed(&jane, "INBOX", &applications(0..1300, every_minute))
        .unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    sync_reports(&config, "jane: 1300 fetched, 1300 new");
    let s = stats(&config, "jane");
    assert_eq!(
        (s["messages"].clone(), s["folders"]["INBOX"].clone()),
        (1300.into(), 1300.into()),
        "{s}"
    );

    // Another client expunges everything and 1100 new messages arrive (UIDs 1301-2400).
    stack.expunge_all(&jane, "INBOX").unwrap();
    stack
        .seed(&jane, "INBOX", &applications(1300..2400, every_minute))
        .unwrap();
    sync_reports(&config, "jane: 1100 fetched, 1100 new");
    let s = stats(&config, "jane");
    assert_eq!(
        s["messages"], 2400,
        "the expunged ones stay in the history: {s}"
    );
    assert_eq!(
        s["folders"]["INBOX"], 1100,
        "only the new ones are located: {s}"
    );
    assert_eq!(s["skipped"], 0, "{s}");

    sync_reports(&config, "jane: 0 fetched, 0 new");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pass_over_several_folders_files_each_folders_messages_and_expunges_under_it() {
    // The pipeline runs across folders: Sent is examined and fetched while the store finishes
    // INBOX. Each folder's batches, cursor and vanished messages must still land on it.
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    seed_inbox_and_sent(&stack, &jane, 0..1200, 5000..5700);
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    sync_reports(&config, "jane: 1900 fetched, 1900 new");
    let s = stats(&config, "jane");
    assert_eq!(
        (&s["folders"]["INBOX"], &s["folders"]["Sent"]),
        (&1200.into(), &700.into()),
        "{s}"
    );

    // Sent, the second folder, loses every message and gets new ones; INBOX gets new ones.
    stack.expunge_all(&jane, "Sent").unwrap();
    stack
        .seed(&jane, "Sent", &applications(6000..6300, every_minute))
        .unwrap();
    stack
        .seed(&jane, "INBOX", &applications(1200..1400, every_minute))
        .unwrap();
    sync_reports(&config, "jane: 500 fetched, 500 new");
    let s = stats(&config, "jane");
    assert_eq!(
        (&s["folders"]["INBOX"], &s["folders"]["Sent"]),
        (&1400.into(), &300.into()),
        "the expunged ones are no longer located in Sent, and nothing else moved: {s}"
    );
    assert_eq!(
        s["messages"], 2400,
        "the expunged ones stay in the history: {s}"
    );

    // Only INBOX loses messages now: Sent keeps its 300.
    stack.expunge_all(&jane, "INBOX").unwrap();
    sync_reports(&config, "jane: 0 fetched, 0 new");
    let s = stats(&config, "jane");
    assert_eq!(
        (&s["folders"]["INBOX"], &s["folders"]["Sent"]),
        (&0.into(), &300.into()),
        "{s}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_sync_shares_the_folders_between_two_connections_and_fetches_each_message_once() {
    // A first sync of INBOX and Sent, each of a full range (500) or more, opens a second
    // connection; the two take the folders in turn. Dovecot's log says what each session sent:
    // every message once, over both.
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    // Users are added before any login (Dovecot reads its password file when it changes).
    let bob = stack.add_user("bob@agency.example").unwrap();
    seed_inbox_and_sent(&stack, &jane, 0..1200, 5000..5700);
    // One message in both folders: stored once, located twice.
    let both = applications(9000..9001, every_minute);
    stack.seed(&jane, "INBOX", &both).unwrap();
    stack.seed(&jane, "Sent", &both).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    sync_reports(&config, "jane: 1902 fetched, 1901 new");
    let sessions = sessions_logged_out(&stack, "jane@agency.example", 2);
    assert_eq!(sessions.len(), 2, "two connections: {sessions:?}");
    assert_eq!(
        sessions.iter().sum::<u64>(),
        1902,
        "each message sent once, by one of them: {sessions:?}"
    );
    let s = stats(&config, "jane");
    assert_eq!(
        (
            &s["messages"],
            &s["folders"]["INBOX"],
            &s["folders"]["Sent"]
        ),
        (&1901.into(), &1201.into(), &701.into()),
        "{s}"
    );

    // The next pass knows both folders: one connection.
    stack
        .seed(&jane, "Sent", &applications(6000..6010, every_minute))
        .unwrap();
    sync_reports(&config, "jane: 10 fetched, 10 new");
    let sessions = sessions_logged_out(&stack, "jane@agency.example", 3);
    assert_eq!(sessions.len(), 3, "one more connection: {sessions:?}");
    assert_eq!(sessions[2], 10, "{sessions:?}");

    // A first sync of folders under a full range each (STATUS says so): one connection.
    seed_inbox_and_sent(&stack, &bob, 0..499, 5000..5600);
    let config = write_config(&[&|dir| account_toml(&stack, "bob", &bob, dir, "")]);
    sync_reports(&config, "bob: 1099 fetched, 1099 new");
    let sessions = sessions_logged_out(&stack, "bob@agency.example", 1);
    assert_eq!(sessions, [1099], "one connection");
}

/// The messages that each IMAP session of `user` sent (`body_count` of Dovecot's logout line),
/// in the order they ended, once at least `expected` sessions have ended (waiting up to 10 s:
/// Dovecot may log a session's end after the client has gone).
fn sessions_logged_out(stack: &MailStack, user: &str, expected: usize) -> Vec<u64> {
    let log = stack.dir().join("log/dovecot.log");
    let prefix = format!("imap({user})");
    let read = || -> Vec<u64> {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains(&prefix) && line.contains("Disconnected"))
            .map(|line| {
                line.split_once("body_count=")
                    .and_then(|(_, rest)| rest.split(' ').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0)
            })
            .collect()
    };
    wait_until(Duration::from_secs(10), || read().len() >= expected);
    read()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expunge_is_seen_in_a_folder_that_holds_a_skipped_message() {
    // A skipped message has no location but is on the server: if the count check left it out,
    // it would hide one expunge, and the expunged message would stay located in the folder.
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let at = days_ago(2);
    let mut seeded: Vec<SeedMessage> = (0..5)
        .map(|i| {
            let id = format!("good{i}@candidates.example");
            seed(
                message(
                    "a@candidates.example",
                    "jane@agency.example",
                    "Hi",
                    &id,
                    at,
                    "",
                    "Hi",
                ),
                at,
            )
        })
        .collect();
    seeded.push(seed(
        b"\x00\x01\x02 not a mail at all \xff\xfe".to_vec(),
        at,
    ));
    stack.seed(&jane, "INBOX", &seeded).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    sync_reports(&config, "jane: 6 fetched, 5 new, 1 skipped");
    let s = stats(&config, "jane");
    assert_eq!(
        (&s["folders"]["INBOX"], &s["skipped"]),
        (&5.into(), &1.into()),
        "{s}"
    );

    let removed = stack
        .expunge_matching(&jane, "INBOX", b"good3@candidates.example")
        .unwrap();
    assert_eq!(removed, 1);
    sync_reports(&config, "jane: 0 fetched, 0 new");
    let s = stats(&config, "jane");
    assert_eq!(
        s["folders"]["INBOX"], 4,
        "the expunged one is no longer located: {s}"
    );
    assert_eq!(s["messages"], 5, "it stays in the history: {s}");
}

#[tokio::test(flavor = "multi_thread")]
async fn expunged_and_moved_messages_keep_their_history() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let at = days_ago(4);
    let raw = message(
        "bo@candidates.example",
        "jane@agency.example",
        "Hello",
        "m1@candidates.example",
        at,
        "",
        "Hi",
    );
    stack.seed(&jane, "INBOX", &[seed(raw, at)]).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    assert!(candor(&config, &["sync"]).status.success());
    assert_eq!(stats(&config, "jane")["folders"]["INBOX"], 1);
    stack.expunge_all(&jane, "INBOX").unwrap();
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let s = stats(&config, "jane");
    assert_eq!(s["folders"]["INBOX"], 0, "no longer located in INBOX: {s}");
    assert_eq!(s["messages"], 1, "the message stays in the history: {s}");
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        let _ = self.0.wait();
    }
}

/// The daemon's log, beside its config: printed by the test when something fails.
fn daemon_log(config: &crate::support::TestConfig) -> Stdio {
    let path = config.path.with_file_name("daemon.log");
    std::fs::File::create(&path)
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

fn start_daemon(config: &crate::support::TestConfig) -> Daemon {
    let child = Command::new(env!("CARGO_BIN_EXE_candor"))
        .arg("--config")
        .arg(&config.path)
        .arg("run")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(daemon_log(config))
        .spawn()
        .unwrap();
    Daemon(child)
}

#[tokio::test(flavor = "multi_thread")]
async fn daemon_stores_delivered_mail_within_two_seconds_also_after_a_dovecot_restart() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    let _daemon = start_daemon(&config);
    let messages = || {
        stats(&config, "jane")["folders"]["INBOX"]
            .as_u64()
            .unwrap_or(0)
    };
    let (synced, _) = wait_until(Duration::from_secs(20), || {
        stats(&config, "jane")["last_sync"].is_string()
    });
    if !synced {
        let log =
            std::fs::read_to_string(config.path.with_file_name("daemon.log")).unwrap_or_default();
        panic!("the daemon did not complete its first sync in 20 s; daemon log:\n{log}");
    }

    for round in 0..2u64 {
        if round == 1 {
            // Restart Dovecot under the daemon's IDLE: it must reconnect and carry on.
            stack.restart_dovecot().unwrap();
        }
        let raw = message(
            "ann@candidates.example",
            "jane@agency.example",
            "Re: role",
            &format!("live{round}@candidates.example"),
            jiff::Timestamp::now(),
            "",
            "Here I am.",
        );
        // After a restart, give the daemon its reconnect before timing the push.
        if round == 1 {
            let (back, _) = wait_until(Duration::from_secs(30), || {
                let s = stats(&config, "jane");
                s["last_error"].is_null()
            });
            assert!(back, "the daemon reconnected");
        }
        stack
            .submit(
                &jane,
                "ann@candidates.example",
                &["jane@agency.example"],
                &raw,
            )
            .await
            .unwrap();
        let (stored, took) = wait_until(Duration::from_secs(30), || messages() == round + 1);
        if !stored {
            let path = config.path.with_file_name("daemon.log");
            let log = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| format!("cannot read {}: {e}", path.display()));
            panic!("round {round}: the delivered message was not stored; daemon log:\n{log}");
        }
        println!("round {round}: stored {took:?} after submission");
        assert!(
            took < Duration::from_secs(10),
            "round {round}: pushed by IDLE, took {took:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_accounts_are_named_with_their_cause_and_the_others_sync() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let mut wrong = stack.add_user("wrong@agency.example").unwrap();
    wrong.password = "not-the-password".to_owned();
    let at = days_ago(1);
    stack
        .seed(
            &jane,
            "INBOX",
            &[seed(
                message(
                    "x@candidates.example",
                    "jane@agency.example",
                    "Hi",
                    "ok1@x",
                    at,
                    "",
                    "Hi",
                ),
                at,
            )],
        )
        .unwrap();
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = write_config(&[
        &|dir| account_toml(&stack, "jane", &jane, dir, ""),
        &|dir| account_toml(&stack, "refused", &wrong, dir, ""),
        &|dir| {
            account_toml(&stack, "closed", &jane, dir, "").replace(
                &format!("port = {}", stack.imaps_port()),
                &format!("port = {closed_port}"),
            )
        },
        &|dir| {
            // The public roots only: the test CA is not trusted.
            account_toml(&stack, "untrusted", &jane, dir, "")
                .replace(&format!("ca_file = \"{}\"", stack.ca_file().display()), "")
        },
        &|dir| {
            // A host name the certificate does not carry (it names localhost and 127.0.0.1).
            account_toml(&stack, "misnamed", &jane, dir, "")
                .replace("host = \"127.0.0.1\"", "host = \"127.0.0.2\"")
        },
    ]);
    let out = candor(&config, &["sync"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "sync exits 1: {stderr}");
    assert!(
        text(&out.stdout).contains("jane: 1 fetched, 1 new"),
        "the good account synced: {}",
        text(&out.stdout)
    );
    let line = |name: &str| {
        stderr
            .lines()
            .find(|l| l.contains(&format!("account {name}")))
            .unwrap_or_else(|| panic!("no error line for {name} in:\n{stderr}"))
            .to_owned()
    };
    assert!(
        line("refused").contains("refused the login"),
        "{}",
        line("refused")
    );
    assert!(
        line("closed").to_lowercase().contains("connection refused"),
        "{}",
        line("closed")
    );
    assert!(
        line("untrusted").contains("TLS handshake"),
        "{}",
        line("untrusted")
    );
    assert!(
        line("untrusted").to_lowercase().contains("certificate"),
        "{}",
        line("untrusted")
    );
    assert!(
        line("misnamed").to_lowercase().contains("certificate"),
        "{}",
        line("misnamed")
    );
    assert!(
        !stderr.contains(&jane.password) && !stderr.contains("not-the-password"),
        "no secret in errors"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_messages_are_skipped_and_reported_while_the_sync_completes() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpora/mail-parser-eml/maildir/cur");
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let at = days_ago(2);
    let mut seeded: Vec<SeedMessage> = (0..10)
        .map(|i| {
            seed(
                message(
                    "a@candidates.example",
                    "jane@agency.example",
                    "Hi",
                    &format!("good{i}@x"),
                    at,
                    "",
                    "Hi",
                ),
                at,
            )
        })
        .collect();
    // Hostile input of our own, always available.
    seeded.push(seed(
        b"\x00\x01\x02 not a mail at all \xff\xfe".to_vec(),
        at,
    ));
    seeded.push(seed(b"Subject: only a subject\r\n\r\n".to_vec(), at));
    let mut corpus_files = 0;
    if corpus.is_dir() {
        for entry in std::fs::read_dir(&corpus).unwrap() {
            let raw = std::fs::read(entry.unwrap().path()).unwrap();
            seeded.push(seed(raw, at));
            corpus_files += 1;
        }
    } else {
        println!(
            "note: {} is absent; only the built-in malformed messages are seeded",
            corpus.display()
        );
    }
    stack.seed(&jane, "INBOX", &seeded).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    let out = candor(&config, &["sync"]);
    assert!(
        out.status.success(),
        "the sync completes: {}",
        text(&out.stderr)
    );
    let s = stats(&config, "jane");
    let skipped = s["skipped"].as_u64().unwrap();
    let messages = s["messages"].as_u64().unwrap();
    println!(
        "seeded {} ({corpus_files} from the corpus): {messages} stored, {skipped} skipped",
        seeded.len()
    );
    assert!(
        skipped >= 2,
        "the two built-in broken messages are reported: {s}"
    );
    assert!(messages >= 10, "the good messages are stored: {s}");
    let located = s["folders"]["INBOX"].as_u64().unwrap();
    // Byte-identical corpus samples share a key: stored once, so located + skipped may fall
    // short of the seeded count by those duplicates, never exceed it.
    assert!(located + skipped <= seeded.len() as u64, "{s}");
    assert!(
        located + skipped + 5 >= seeded.len() as u64,
        "nearly every seeded message is stored or reported: {s}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_refuses_to_run_beside_the_daemon_while_state_changes_still_work() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let at = days_ago(2);
    let raw = message(
        "ann@candidates.example",
        "jane@agency.example",
        "Hi",
        "beside1@x",
        at,
        "",
        "Hello",
    );
    stack.seed(&jane, "INBOX", &[seed(raw, at)]).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    let _daemon = start_daemon(&config);
    let (synced, _) = wait_until(Duration::from_secs(60), || {
        stats(&config, "jane")["last_sync"].is_string()
    });
    assert!(
        synced,
        "the daemon completed its first sync; stats: {}; its log:\n{}",
        stats(&config, "jane"),
        std::fs::read_to_string(config.path.with_file_name("daemon.log")).unwrap_or_default()
    );

    let out = candor(&config, &["sync"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("candor run, pid"),
        "names the daemon: {}",
        text(&out.stderr)
    );
    let out = candor(&config, &["run", "--once"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "run --once refuses too: {}",
        text(&out.stderr)
    );

    // A state-changing command is one short transaction beside the daemon.
    let out = candor(&config, &["candidate", "pause", "ann@candidates.example"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A delivery report whose header block has `received` Received fields, whose notice is
/// `notice` bytes long before the delivery-status part names `recipient`, followed by 30 KB of
/// returned message: every one is longer than the prefix one FETCH asks for.
fn report(id: &str, received: usize, notice: usize, recipient: &str) -> Vec<u8> {
    let mut raw = format!(
        "From: Mail Delivery System <MAILER-DAEMON@relay.example>\r\nTo: jane@agency.example\r\n\
         Message-ID: <{id}>\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
    );
    for hop in 0..received {
        raw.push_str(&format!(
            "Received: from hop{hop}.relay.example (hop{hop}.relay.example [192.0.2.{}])\r\n\
             \tby mx.relay.example with ESMTPS id {id}-{hop}; Mon, 2 Nov 2026 10:00:00 +0000\r\n",
            hop % 250
        ));
    }
    // The subject last: a header cut short would lose it.
    raw.push_str(&format!(
        "Subject: Undelivered Mail Returned to Sender ({id})\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\n"
    ));
    let notice_start = raw.len();
    while raw.len() - notice_start < notice {
        raw.push_str(
            "This is the mail system at host relay.example. I'm sorry to have to tell you.\r\n",
        );
    }
    raw.push_str(&format!(
        "\r\n--b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\
         Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n--b1\r\n\
         Content-Type: message/rfc822\r\n\r\nSubject: the original\r\n\r\n"
    ));
    raw.push_str(&"returned text of the original message\r\n".repeat(800));
    raw.push_str("\r\n--b1--\r\n");
    raw.into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn long_headers_and_bodies_are_read_as_the_header_and_the_text_prefix() {
    // One FETCH asks for a prefix of each message; a header block too long for it to hold the
    // header and the text prefix is asked for again. What is stored must be what the header and
    // the text prefix give, whatever the sizes.
    let text = candor::mail::BODY_PREFIX_BYTES as usize;
    let cases = [
        // (id, Received fields, notice bytes, recipient found)
        ("usual@relay.example", 5, 1_000, true),
        // ~12 KB of header, the recipient ~13.6 KB into the body: past what the prefix holds
        // after such a header, within the text prefix.
        ("long-header@relay.example", 80, 13_500, true),
        // A header block longer than the whole prefix.
        ("huge-header@relay.example", 200, 1_000, true),
        // The recipient past the text prefix: not read, as before.
        ("long-notice@relay.example", 5, text + 1_000, false),
    ];
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let at = days_ago(2);
    let seeded: Vec<(String, Vec<u8>)> = cases
        .iter()
        .map(|(id, received, notice, _)| {
            let recipient = format!("gone.{}", id.replace('@', "-at-"));
            (
                id.to_string(),
                report(
                    id,
                    *received,
                    *notice,
                    &format!("{recipient}@candidates.example"),
                ),
            )
        })
        .collect();
    stack
        .seed(
            &jane,
            "INBOX",
            &seeded
                .iter()
                .map(|(_, raw)| seed(raw.clone(), at))
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    sync_reports(&config, "jane: 4 fetched, 4 new, 0 skipped");

    let store = rusqlite::Connection::open_with_flags(
        config.path.with_file_name("candor.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    for ((id, raw), (_, _, _, found)) in seeded.iter().zip(cases) {
        let (class, recipients, subject): (String, String, String) = store
            .query_row(
                "SELECT class, bounce_rcpts, subject FROM messages WHERE message_id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        // The reference: the header block and at most the text prefix of the body.
        let body = candor::mail::body_start(raw).unwrap();
        let reference = candor::mail::parse(&raw[..body + text]).unwrap();
        let expected_recipients = reference
            .bounce
            .as_ref()
            .map(|b| b.recipients.join(" "))
            .unwrap_or_default();
        assert_eq!(
            (class.as_str(), recipients.as_str(), subject.as_str()),
            (
                reference.class.as_str(),
                expected_recipients.as_str(),
                reference.subject.as_deref().unwrap_or_default()
            ),
            "{id} ({} header bytes, {} bytes in all)",
            body,
            raw.len()
        );
        assert_eq!(class, "bounce", "{id}");
        assert_eq!(!recipients.is_empty(), found, "{id}: {recipients:?}");
        assert!(
            subject.contains(id.as_str()),
            "{id}: the whole header was read: {subject}"
        );
    }
}

/// Found in review: a folder the server lists but refuses to open (its rights, a damaged index)
/// failed every pass, so the other folders, the pass's record and the outbox never ran. The
/// refusal is reported (`sync` exits 1 naming it) and the other folders are read.
#[tokio::test(flavor = "multi_thread")]
async fn a_folder_the_server_refuses_to_open_is_reported_and_the_others_are_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    seed_inbox_and_sent(&stack, &jane, 0..30, 5000..5020);
    stack
        .seed(&jane, "Candidates", &applications(100..110, every_minute))
        .unwrap();
    let scope = "\n[account.scope]\nmode = \"folders\"\nfolders = [\"Candidates\"]\n";
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, scope)]);
    let folder = stack
        .dir()
        .join("mail/jane@agency.example/Maildir/.Candidates");
    let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o000)).unwrap();

    let out = candor(&config, &["sync"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("account jane: the server refused to open folder Candidates"),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains("jane: 50 fetched, 50 new"),
        "{}",
        text(&out.stdout)
    );
    let s = stats(&config, "jane");
    assert_eq!(
        (&s["folders"]["INBOX"], &s["folders"]["Sent"]),
        (&30.into(), &20.into()),
        "{s}"
    );
    assert!(
        s["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("refused to open folder Candidates")),
        "the account needs attention: {s}"
    );

    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(mode)).unwrap();
    sync_reports(&config, "jane: 10 fetched, 10 new");
    assert!(stats(&config, "jane")["last_error"].is_null());

    // Sent is what the gates read before a send (SPEC §7): its refusal fails the pass.
    let sent = stack.dir().join("mail/jane@agency.example/Maildir/.Sent");
    let mode = std::fs::metadata(&sent).unwrap().permissions().mode();
    std::fs::set_permissions(&sent, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = candor(&config, &["sync"]);
    std::fs::set_permissions(&sent, std::fs::Permissions::from_mode(mode)).unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("EXAMINE Sent"), "{stderr}");
}

/// Found in review: IMAP names folders in modified UTF-7 (RFC 3501 §5.1.3), so Dovecot lists a
/// folder the owner named "Geprüft" as `Gepr&APw-ft`. A configured scope folder with a non-ASCII
/// name was compared with the listed names as written in the config, reported missing and never
/// read (and EXAMINE would have been sent raw UTF-8): nobody was in scope.
#[tokio::test(flavor = "multi_thread")]
async fn a_configured_folder_with_a_non_ascii_name_is_found_and_read() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    seed_inbox_and_sent(&stack, &jane, 0..3, 5000..5002);
    // Dovecot's Maildir++ directory holds the name as it is on the wire.
    stack
        .seed(&jane, "Gepr&APw-ft", &applications(100..105, every_minute))
        .unwrap();
    let scope = "\n[account.scope]\nmode = \"folders\"\nfolders = [\"Geprüft\"]\n";
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, scope)]);

    let out = candor(&config, &["sync"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        text(&out.stdout).contains("jane: 10 fetched, 10 new"),
        "{}",
        text(&out.stdout)
    );
    let s = stats(&config, "jane");
    assert_eq!(s["folders"]["Geprüft"], 5, "{s}");
    let candidates = candor(&config, &["candidates", "--json"]);
    let candidates: serde_json::Value = serde_json::from_slice(&candidates.stdout).unwrap();
    let in_scope = candidates
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["in_scope"] == true)
        .count();
    assert_eq!(in_scope, 5, "{candidates}");
}
