//! Personal data: nothing secret in the output at the most verbose level, nothing about a
//! person left in any table after `forget` or after retention.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use candor::testkit::{MailStack, StackUser};
use jiff::{SignedDuration, Timestamp};

use super::sending::{auto_config, base, jane_writes_to_ann};
use super::{Daemon, Start, seed_one, seeded, store_path};
use crate::support::{account_toml, candor, message, stats, text, wait_until, write_config};

/// Every text or blob value of every table of the store that contains `needle`
/// (case-insensitive), as "table: value".
fn everywhere(store: &Path, needle: &str) -> Vec<String> {
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(tables.len() >= 10, "the store has its tables: {tables:?}");
    let needle = needle.to_lowercase();
    let mut found = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..columns {
                let value = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).to_lowercase()
                    }
                    _ => continue,
                };
                if value.contains(&needle) {
                    found.push(format!("{table}: {value}"));
                }
            }
        }
    }
    found
}

/// A digest (as delivered) that names Ann.
fn is_digest_naming_ann(raw: &[u8]) -> bool {
    let raw = text(raw);
    raw.contains("X-Candor: kind=digest;") && raw.contains("ann@candidates.example")
}

/// Ann's conversation (and Bob's, who mentions nobody), seeded `age` ago.
fn conversations(stack: &MailStack, jane: &StackUser, age: SignedDuration) {
    let at = Timestamp::now() - age;
    let to_ann = message(
        "Jane Doe <jane@agency.example>",
        "Ann Lee <ann@candidates.example>",
        "Backend role",
        "ann1@agency.example",
        at,
        "",
        "Hi Ann, would you be open to a chat?",
    );
    let from_ann = message(
        "Ann Lee <ann@candidates.example>",
        "Jane Doe <jane@agency.example>",
        "Re: Backend role",
        "ann2@candidates.example",
        at + SignedDuration::from_hours(2),
        "In-Reply-To: <ann1@agency.example>\r\nReferences: <ann1@agency.example>\r\n",
        "Yes, gladly.",
    );
    let cc_ann = message(
        "Carl <carl@client.example>",
        "Jane Doe <jane@agency.example>",
        "Shortlist",
        "carl1@client.example",
        at + SignedDuration::from_hours(3),
        "Cc: Ann Lee <ann@candidates.example>\r\n",
        "Let us meet.",
    );
    stack.seed(jane, "Sent", &[seeded(to_ann, at)]).unwrap();
    stack
        .seed(
            jane,
            "INBOX",
            &[
                seeded(from_ann, at + SignedDuration::from_hours(2)),
                seeded(cc_ann, at + SignedDuration::from_hours(3)),
            ],
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn forget_leaves_nothing_about_the_person_in_any_table() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    conversations(&stack, &jane, SignedDuration::from_hours(24));
    let recent = Timestamp::now() - SignedDuration::from_hours(5);
    // Bob's message gives Ann's address: its text goes, Bob's message stays.
    let raw = message(
        "bob@candidates.example",
        &jane.address,
        "Hello",
        "bob1@candidates.example",
        recent,
        "",
        "Hi, a friend of mine is looking too: ann@candidates.example",
    );
    stack.seed(&jane, "INBOX", &[seeded(raw, recent)]).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for args in [
        &["candidate", "pause", "ann@candidates.example"][..],
        &["candidate", "add", "ann@candidates.example"],
    ] {
        let out = candor(&config, args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }
    assert!(!everywhere(&store_path(&config), "ann@candidates.example").is_empty());
    // A digest names Ann (she waits on Jane): its outbox row keeps its text, and its copy in
    // Jane's Inbox is read back by the next sync (found in review: both kept her after forget).
    let out = candor(&config, &["digest", "--send"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut inbox = Vec::new();
    for _ in 0..200 {
        inbox = stack.read_folder(&jane, "INBOX").await.unwrap();
        if inbox.iter().any(|m| is_digest_naming_ann(&m.raw)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        inbox.iter().any(|m| is_digest_naming_ann(&m.raw)),
        "the digest naming Ann never reached the Inbox"
    );
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = candor(&config, &["candidate", "forget", "ann@candidates.example"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let left = everywhere(&store_path(&config), "ann@candidates.example");
    assert!(
        left.is_empty(),
        "still stored after forget:\n{}",
        left.join("\n")
    );
    let left = everywhere(&store_path(&config), "Ann Lee");
    assert!(
        left.is_empty(),
        "the name is still stored:\n{}",
        left.join("\n")
    );
    assert!(
        !everywhere(&store_path(&config), "bob@candidates.example").is_empty(),
        "others stay"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_prunes_old_conversations_from_every_table_and_keeps_recent_ones() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    conversations(&stack, &jane, SignedDuration::from_hours(24 * 40));
    let recent = Timestamp::now() - SignedDuration::from_hours(5);
    let raw = message(
        "bob@candidates.example",
        &jane.address,
        "Hello",
        "bob1@candidates.example",
        recent,
        "",
        "Hi",
    );
    stack.seed(&jane, "INBOX", &[seeded(raw, recent)]).unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    let text_now = std::fs::read_to_string(&config.path).unwrap();
    std::fs::write(
        &config.path,
        text_now.replacen("[storage]\n", "[storage]\nretention_days = 30\n", 1),
    )
    .unwrap();
    let out = candor(&config, &["sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(stats(&config, "jane")["messages"], 4);

    let daemon = Daemon::start(&config, Start::default());
    let (pruned, _) = wait_until(Duration::from_secs(30), || {
        everywhere(&store_path(&config), "ann@candidates.example").is_empty()
    });
    let left = everywhere(&store_path(&config), "ann@candidates.example");
    assert!(
        pruned,
        "still stored after retention:\n{}\n{}",
        left.join("\n"),
        daemon.stderr()
    );
    assert!(everywhere(&store_path(&config), "carl@client.example").is_empty());
    assert!(
        !everywhere(&store_path(&config), "bob@candidates.example").is_empty(),
        "recent mail stays"
    );
    assert!(
        daemon.stderr().contains("retention: pruned"),
        "{}",
        daemon.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_password_token_or_body_at_the_most_verbose_level() {
    let stack = MailStack::start_with_oauth2().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    stack.add_user("ann@candidates.example").unwrap();
    let paul = stack.add_user("paul@agency.example").unwrap();
    let mut wrong = stack.add_user("wrong@agency.example").unwrap();
    wrong.password = "Wr0ng-Secret-Passw0rd".to_owned();
    let token = stack
        .oauth2_token(&paul, Timestamp::now() + SignedDuration::from_hours(1))
        .unwrap();
    let inbound_body = "Inbound-Body-Marker-31337 about the role";
    seed_one(
        &stack,
        &jane,
        "bob@candidates.example",
        "bob1@candidates.example",
        inbound_body,
    );
    let outbound_body = "Outbound-Body-Marker-4242, would you be open to a chat?";
    let oauth_account = |dir: &Path| {
        let toml = account_toml(&stack, "oauth", &paul, dir, "");
        let start = toml.find("password_file = ").unwrap();
        let end = start + toml[start..].find('\n').unwrap();
        format!(
            "{}password_command = \"echo {token}\"{}",
            &toml[..start],
            &toml[end..]
        )
        .replacen(
            "tls = \"implicit\"",
            "tls = \"implicit\"\nauth = \"xoauth2\"",
            1,
        )
    };
    let refused = |dir: &Path| account_toml(&stack, "refused", &wrong, dir, "");
    let config = auto_config(&stack, &jane, None, &[&oauth_account, &refused]);
    let verbose = std::fs::read_to_string(&config.path)
        .unwrap()
        .replace("level = \"info\"", "level = \"debug\"");
    std::fs::write(&config.path, verbose).unwrap();
    let t0 = base();

    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_candor"))
            .arg("--config")
            .arg(&config.path)
            .args(args)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap();
        (text(&out.stdout), text(&out.stderr))
    };
    let mut output = String::new();
    let (o, e) = run(&["--now", &t0.to_string(), "sync"]);
    output.push_str(&o);
    output.push_str(&e);
    jane_writes_to_ann(&stack, &jane, t0, outbound_body);
    let (o, e) = run(&[
        "--now",
        &(t0 + SignedDuration::from_hours(24 * 7)).to_string(),
        "run",
        "--once",
    ]);
    output.push_str(&o);
    output.push_str(&e);
    // The scene happened: a sync, a send, a refused login, a XOAUTH2 login.
    assert!(output.contains("refused the login"), "{output}");
    assert!(output.contains("1 sent"), "a follow-up went out:\n{output}");
    assert!(output.contains("oauth"), "{output}");
    assert!(
        output.contains("DEBUG") && output.contains("logging set up"),
        "candor logged at the verbose level: {output}"
    );
    assert!(output.contains("filter=trace"), "{output}");
    // The exact bytes sent, as the outbox keeps them.
    let raw: Vec<u8> = rusqlite::Connection::open(store_path(&config))
        .unwrap()
        .query_row("SELECT raw FROM outbox WHERE state = 'sent'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let sent_text = String::from_utf8_lossy(&raw).into_owned();
    // A phrase of the follow-up's body (the shipped template), checked to be in what was sent.
    let body_line = "I hope you are well";
    assert!(sent_text.contains(body_line), "{sent_text}");

    for secret in [
        jane.password.as_str(),
        wrong.password.as_str(),
        paul.password.as_str(),
        token.as_str(),
        token.rsplit('.').next().unwrap(),
        "Inbound-Body-Marker-31337",
        "Outbound-Body-Marker-4242",
        body_line,
    ] {
        assert!(!output.contains(secret), "{secret:?} leaked:\n{output}");
    }
}
