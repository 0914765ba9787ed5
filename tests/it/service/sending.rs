//! SIGTERM while an email is being sent: the SMTP transaction finishes and is recorded.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use candor::testkit::{MailStack, StackUser};
use jiff::{SignedDuration, Timestamp};

use super::{Daemon, Start, seeded};
use crate::support::{TestConfig, account_toml, candor, message, text, write_config};

/// A minimal SMTP server on loopback (plaintext, `tls = "none"` is allowed there) that holds
/// the reply to the end of DATA for `hold`, and tells the test when DATA arrived.
pub(super) fn slow_smtp(hold: Duration) -> (u16, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || serve_smtp(stream, hold, tx));
        }
    });
    (port, rx)
}

pub(super) fn serve_smtp(stream: TcpStream, hold: Duration, data: mpsc::Sender<()>) {
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream);
    let mut say = |text: &str| out.write_all(text.as_bytes()).is_ok();
    say("220 slow.example ESMTP\r\n");
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let verb = line.to_ascii_uppercase();
        let ok = if verb.starts_with("EHLO") {
            say("250-slow.example\r\n250 AUTH PLAIN LOGIN\r\n")
        } else if verb.starts_with("AUTH") {
            say("235 2.7.0 accepted\r\n")
        } else if verb.starts_with("DATA") {
            say("354 go on\r\n");
            loop {
                line.clear();
                if lines.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
            }
            let _ = data.send(());
            std::thread::sleep(hold);
            say("250 2.0.0 queued\r\n")
        } else if verb.starts_with("QUIT") {
            say("221 bye\r\n");
            return;
        } else {
            say("250 ok\r\n")
        };
        if !ok {
            return;
        }
    }
}

pub(super) const ALL_DAYS: &str = "\n[account.scope]\nmode = \"all\"\n\n[account.schedule]\nbusiness_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\nsend_hours = \"00:00-24:00\"\n\n[account.digest]\nschedule = \"off\"\n";

/// Jane in auto mode, all days, scope all; `smtp` replaces the stack's submission port.
pub(super) fn auto_config(
    stack: &MailStack,
    jane: &StackUser,
    smtp: Option<u16>,
    extra_accounts: &[&dyn Fn(&Path) -> String],
) -> TestConfig {
    let jane_section = |dir: &Path| {
        let mut toml = account_toml(stack, "jane", jane, dir, ALL_DAYS)
            .replace("mode = \"dry-run\"", "mode = \"auto\"");
        if let Some(port) = smtp {
            toml = toml.replace(
                &format!("port = {}\ntls = \"starttls\"", stack.smtp_port()),
                &format!("port = {port}\ntls = \"none\""),
            );
        }
        toml
    };
    let mut all: Vec<&dyn Fn(&Path) -> String> = vec![&jane_section];
    all.extend_from_slice(extra_accounts);
    write_config(&all)
}

/// Sync at `t0` (the activation horizon), then Jane writes to Ann an hour later: a week on, a
/// follow-up is due.
pub(super) fn silent_candidate(
    stack: &MailStack,
    jane: &StackUser,
    config: &TestConfig,
    t0: Timestamp,
    body: &str,
) {
    let out = candor(config, &["--now", &t0.to_string(), "sync"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    jane_writes_to_ann(stack, jane, t0, body);
}

pub(super) fn jane_writes_to_ann(stack: &MailStack, jane: &StackUser, t0: Timestamp, body: &str) {
    let at = t0 + SignedDuration::from_hours(1);
    let raw = message(
        "Jane Doe <jane@agency.example>",
        "Ann Lee <ann@candidates.example>",
        "Backend role at Acme",
        "ann1@agency.example",
        at,
        "",
        body,
    );
    stack.seed(jane, "Sent", &[seeded(raw, at)]).unwrap();
}

pub(super) fn base() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap()
}

pub(super) fn outbox_states(config: &TestConfig) -> Vec<String> {
    let out = candor(config, &["outbox", "list", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    json.as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r["state"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
pub(super) async fn sigterm_during_a_send_lets_the_smtp_transaction_finish_and_records_it_sent() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    stack.add_user("ann@candidates.example").unwrap();
    let (port, data) = slow_smtp(Duration::from_secs(2));
    let config = auto_config(&stack, &jane, Some(port), &[]);
    let t0 = base();
    silent_candidate(
        &stack,
        &jane,
        &config,
        t0,
        "Hi Ann, would you be open to a chat?",
    );
    let mut daemon = Daemon::start(
        &config,
        Start {
            now: Some(t0 + SignedDuration::from_hours(24 * 7)),
            ..Start::default()
        },
    );
    data.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("no DATA reached the SMTP server:\n{}", daemon.stderr()));
    // The email's bytes are with the server; its reply comes in 2 s. Stop now.
    let asked = Instant::now();
    daemon.signal(libc::SIGTERM);
    let exit = daemon.exit_within(Duration::from_secs(10));
    println!("stopped after {:?}", asked.elapsed());
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "{}", daemon.stderr());
    assert!(
        asked.elapsed() >= Duration::from_millis(1500),
        "the daemon waited for the server's reply"
    );
    assert_eq!(
        outbox_states(&config),
        ["sent"],
        "the send finished and was recorded, not left `sending`:\n{}",
        daemon.stderr()
    );
}
