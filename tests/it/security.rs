//! Security end to end: TLS that does not verify is refused (IMAP and SMTP, a wrong certificate
//! and a wrong host name), `tls = "none"` only for loopback hosts, CR/LF in a candidate's name
//! or a subject cannot add a header or a recipient, and every file candor creates is
//! owner-only even under `umask 000`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use candor::testkit::{MailStack, SeedMessage, StackUser};
use jiff::{SignedDuration, Timestamp};

use crate::support::{TestConfig, account_toml, candor, text, wait_until, write_config};

const ALL_DAYS: &str = r#"
[account.scope]
mode = "all"

[account.schedule]
business_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
send_hours = "00:00-24:00"
"#;

/// A display name and a subject that decode to CR/LF followed by a Bcc header (RFC 2047
/// encoded words carry any byte, so a raw header line break is not needed to smuggle one).
const EVIL_NAME: &str = "=?utf-8?q?Ann=0D=0ABcc=3A_evil=40candidates=2Eexample?=";
const EVIL_SUBJECT: &str =
    "=?utf-8?q?Backend_role=0D=0ABcc=3A_evil=40candidates=2Eexample=0D=0AX-Injected=3A_1?=";

fn base() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).expect("now is a valid timestamp")
}

/// `candor --config C --now AT ARGS` under `umask 000`, so that any file candor creates without
/// an explicit mode would come out world-readable and fail the checks below.
fn candor_umask0(config: &TestConfig, at: Timestamp, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_candor"))
        .arg("--config")
        .arg(&config.path)
        .arg("--now")
        .arg(at.to_string())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn raw(
    from: &str,
    to: &str,
    subject: &str,
    id: &str,
    at: Timestamp,
    extra: &str,
    body: &str,
) -> Vec<u8> {
    let date =
        jiff::fmt::rfc2822::to_string(&at.to_zoned_datetime(jiff::tz::TimeZone::UTC)).unwrap();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {date}\r\n\
         {extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn seed(stack: &MailStack, user: &StackUser, folder: &str, raw: Vec<u8>, at: Timestamp) {
    let message = SeedMessage {
        raw,
        internal_date: at,
        flags: "S".to_owned(),
    };
    stack.seed(user, folder, &[message]).unwrap();
}

/// The outbox rows as (state, last_error).
fn outbox(config: &TestConfig) -> Vec<(String, String)> {
    let out = candor(config, &["outbox", "list", "--json"]);
    assert!(out.status.success(), "outbox list: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("state"), s("last_error"))
        })
        .collect()
}

/// The header block of a raw message, unfolded, one header per line.
fn header_lines(raw: &[u8]) -> Vec<String> {
    let raw = String::from_utf8_lossy(raw);
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    head.replace("\r\n ", " ")
        .replace("\r\n\t", " ")
        .split("\r\n")
        .map(str::to_owned)
        .collect()
}

/// Every file and directory under `dir`, with its permission bits.
fn modes(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let mode = std::fs::symlink_metadata(&path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        if path.is_dir() {
            out.extend(modes(&path));
        }
        out.push((path, mode));
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn smtp_refuses_bad_tls_and_crlf_in_names_and_subjects_adds_no_header_or_recipient() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let ann = stack.add_user("ann@candidates.example").unwrap();
    // A real mailbox for the injected address: a leak would be delivered, not refused.
    let evil = stack.add_user("evil@candidates.example").unwrap();
    let good_account = |dir: &Path| {
        account_toml(&stack, "jane", &jane, dir, ALL_DAYS)
            .replace("mode = \"dry-run\"", "mode = \"auto\"")
    };
    let config = write_config(&[&good_account]);
    // The store in a directory candor must create itself.
    let state_dir = config.path.with_file_name("state");
    let store = state_dir.join("candor").join("candor.db");
    let good = std::fs::read_to_string(&config.path).unwrap().replace(
        &format!(
            "path = \"{}\"",
            config.path.with_file_name("candor.db").display()
        ),
        &format!("path = \"{}\"", store.display()),
    );
    assert!(
        good.contains(&store.display().to_string()),
        "store path replaced"
    );
    let ca_line = format!("ca_file = \"{}\"", stack.ca_file().display());
    // SMTP is the second server section: its ca_file is the last one.
    let smtp_at = good.find("[account.smtp]").unwrap();
    let (imap_part, smtp_part) = good.split_at(smtp_at);
    let untrusted = format!("{imap_part}{}", smtp_part.replace(&ca_line, ""));
    let misnamed = format!(
        "{imap_part}{}",
        smtp_part.replace("host = \"127.0.0.1\"", "host = \"127.0.0.2\"")
    );

    let t0 = base();
    std::fs::write(&config.path, &untrusted).unwrap();
    let out = candor_umask0(&config, t0, &["sync"]);
    assert!(out.status.success(), "first sync: {}", text(&out.stderr));

    // Ann writes with a name and subject that decode to CR/LF + Bcc; Jane answers with a
    // question to the same name and subject; then silence.
    let ann_from = format!("{EVIL_NAME} <ann@candidates.example>");
    seed(
        &stack,
        &jane,
        "INBOX",
        raw(
            &ann_from,
            "jane@agency.example",
            EVIL_SUBJECT,
            "ann1@candidates.example",
            t0 + SignedDuration::from_hours(1),
            "",
            "Hello Jane, I saw your post.",
        ),
        t0 + SignedDuration::from_hours(1),
    );
    seed(
        &stack,
        &jane,
        "Sent",
        raw(
            "Jane Doe <jane@agency.example>",
            &ann_from,
            &format!("Re: {EVIL_SUBJECT}"),
            "jane1@agency.example",
            t0 + SignedDuration::from_hours(2),
            "In-Reply-To: <ann1@candidates.example>\r\nReferences: <ann1@candidates.example>\r\n",
            "Hi Ann, would you be open to a call this week?",
        ),
        t0 + SignedDuration::from_hours(2),
    );

    // A week later the follow-up is due; SMTP's certificate is not trusted: nothing leaves.
    let due = t0 + SignedDuration::from_hours(24 * 7);
    let out = candor_umask0(&config, due, &["run", "--once"]);
    println!("untrusted: {}{}", text(&out.stdout), text(&out.stderr));
    let rows = outbox(&config);
    assert_eq!(rows.len(), 1, "one follow-up queued: {rows:?}");
    assert_ne!(rows[0].0, "sent", "{rows:?}");
    assert!(
        rows[0].1.to_lowercase().contains("certificate"),
        "the error names the certificate: {rows:?}"
    );

    // The right CA but a host name (127.0.0.2) the certificate does not name: refused too.
    std::fs::write(&config.path, &misnamed).unwrap();
    let out = candor_umask0(
        &config,
        due + SignedDuration::from_hours(3),
        &["run", "--once"],
    );
    println!("misnamed: {}{}", text(&out.stdout), text(&out.stderr));
    let rows = outbox(&config);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_ne!(rows[0].0, "sent", "{rows:?}");
    assert!(
        rows[0].1.to_lowercase().contains("certificate"),
        "the error names the certificate: {rows:?}"
    );
    let arrived = stack.read_folder(&ann, "INBOX").await.unwrap();
    assert!(
        arrived.is_empty(),
        "nothing reached Ann over unverified TLS"
    );

    // Verified TLS: the follow-up goes out once, to Ann alone, with no injected header.
    std::fs::write(&config.path, &good).unwrap();
    let out = candor_umask0(
        &config,
        due + SignedDuration::from_hours(6),
        &["run", "--once"],
    );
    assert!(out.status.success(), "good run: {}", text(&out.stderr));
    let got = stack
        .wait_for_message(&ann, "INBOX", |_| true, Duration::from_secs(20))
        .await
        .unwrap();
    let rows = outbox(&config);
    assert_eq!(rows.iter().filter(|r| r.0 == "sent").count(), 1, "{rows:?}");
    let lines = header_lines(&got.raw);
    println!("headers of the follow-up:\n{}", lines.join("\n"));
    for forbidden in ["bcc:", "cc:", "x-injected:"] {
        assert!(
            !lines
                .iter()
                .any(|l| l.to_lowercase().starts_with(forbidden)),
            "no {forbidden} header: {lines:#?}"
        );
    }
    let parsed = mail_parser::MessageParser::default()
        .parse(&got.raw)
        .unwrap();
    let to: Vec<String> = parsed
        .to()
        .map(|a| {
            a.iter()
                .filter_map(|a| a.address().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        to,
        vec!["ann@candidates.example".to_owned()],
        "one recipient"
    );
    assert!(
        parsed.cc().is_none() && parsed.bcc().is_none(),
        "no other recipients"
    );
    let subject = parsed.subject().unwrap_or_default();
    assert!(
        !subject.contains(['\r', '\n']),
        "subject on one line: {subject:?}"
    );
    // Postfix delivered to Ann only: the envelope had one recipient, and evil's Inbox is empty.
    let log = std::fs::read_to_string(stack.dir().join("log/postfix.log")).unwrap_or_default();
    assert!(
        !log.contains("to=<evil@candidates.example>"),
        "Postfix never saw evil as a recipient"
    );
    assert!(
        stack.read_folder(&evil, "INBOX").await.unwrap().is_empty(),
        "nothing reached evil@"
    );

    // Files candor created (directory, database, WAL/SHM, lock) are owner-only under umask 000.
    let files = modes(&state_dir);
    println!("files: {files:?}");
    assert!(
        files.iter().any(|(p, _)| p == &store),
        "the store exists: {files:?}"
    );
    for (path, mode) in &files {
        if path == &state_dir {
            continue;
        }
        assert_eq!(
            mode & 0o077,
            0,
            "{} is {mode:o}, not owner-only",
            path.display()
        );
    }
    let lock = PathBuf::from(format!("{}.lock", store.display()));
    assert!(
        files.iter().any(|(p, _)| p == &lock),
        "the lock file was created: {files:?}"
    );

    // SQLite removes -wal and -shm when the last connection closes: look while a daemon runs.
    let mut daemon = Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_candor"))
        .arg("--config")
        .arg(&config.path)
        .arg("run")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let wal = PathBuf::from(format!("{}-wal", store.display()));
    let shm = PathBuf::from(format!("{}-shm", store.display()));
    let (seen, _) = wait_until(Duration::from_secs(30), || wal.exists() && shm.exists());
    let wal_modes: Vec<(PathBuf, u32)> = [&wal, &shm]
        .iter()
        .filter_map(|p| {
            let mode = std::fs::metadata(p).ok()?.permissions().mode() & 0o777;
            Some(((*p).clone(), mode))
        })
        .collect();
    // SIGTERM to our own child, by its pid: the daemon shuts down cleanly.
    let rc = unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0, "SIGTERM delivered");
    let _ = daemon.wait();
    assert!(seen, "the running daemon has -wal and -shm files");
    println!("while running: {wal_modes:?}");
    for (path, mode) in &wal_modes {
        assert_eq!(
            mode & 0o077,
            0,
            "{} is {mode:o}, not owner-only",
            path.display()
        );
    }
}

#[test]
fn imap_refuses_a_wrong_certificate_and_a_wrong_host_name_over_starttls() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let ca_line = format!("ca_file = \"{}\"", stack.ca_file().display());
    let starttls = |account: String| {
        let imap_at = account.find("[account.imap]").unwrap();
        let smtp_at = account.find("[account.smtp]").unwrap();
        let imap = account[imap_at..smtp_at]
            .replace(
                &format!("port = {}", stack.imaps_port()),
                &format!("port = {}", stack.imap_port()),
            )
            .replace("tls = \"implicit\"", "tls = \"starttls\"");
        format!("{}{imap}{}", &account[..imap_at], &account[smtp_at..])
    };
    let config = write_config(&[
        &|dir| starttls(account_toml(&stack, "trusted", &jane, dir, "")),
        &|dir| {
            let account = starttls(account_toml(&stack, "untrusted", &jane, dir, ""));
            let imap_end = account.find("[account.smtp]").unwrap();
            format!(
                "{}{}",
                account[..imap_end].replace(&ca_line, ""),
                &account[imap_end..]
            )
        },
        &|dir| {
            let account = starttls(account_toml(&stack, "misnamed", &jane, dir, ""));
            let imap_end = account.find("[account.smtp]").unwrap();
            format!(
                "{}{}",
                account[..imap_end].replace("host = \"127.0.0.1\"", "host = \"127.0.0.2\""),
                &account[imap_end..]
            )
        },
    ]);
    let out = candor(&config, &["sync"]);
    let stderr = text(&out.stderr);
    println!("{}{stderr}", text(&out.stdout));
    assert_eq!(out.status.code(), Some(1), "sync exits 1: {stderr}");
    assert!(
        text(&out.stdout).contains("trusted: "),
        "the trusted account synced: {}",
        text(&out.stdout)
    );
    for name in ["untrusted", "misnamed"] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("account {name}")))
            .unwrap_or_else(|| panic!("no error for {name}: {stderr}"));
        assert!(line.to_lowercase().contains("certificate"), "{line}");
    }
    assert!(!stderr.contains(&jane.password), "no password in errors");
}

#[test]
fn tls_none_is_a_config_error_for_every_non_loopback_host() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let (stack, jane) = (&stack, &jane);
    let with_host = |host: &'static str| {
        move |dir: &Path| {
            account_toml(stack, "a", jane, dir, "")
                .replace("tls = \"implicit\"", "tls = \"none\"")
                .replace("host = \"127.0.0.1\"", &format!("host = \"{host}\""))
        }
    };
    for host in [
        "mail.example.com",
        "127.0.0.1.example.com",
        "localhost.evil.example",
        "10.0.0.1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ] {
        let config = write_config(&[&with_host(host)]);
        let out = candor(&config, &["check-config"]);
        let stderr = text(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{host}: refused as a config error: {stderr}"
        );
        assert!(stderr.contains("loopback"), "{host}: {stderr}");
    }
    for host in ["127.0.0.1", "localhost", "::1"] {
        let config = write_config(&[&with_host(host)]);
        let out = candor(&config, &["check-config"]);
        assert!(
            out.status.success(),
            "{host} is loopback: {}",
            text(&out.stderr)
        );
    }
}
