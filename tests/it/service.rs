//! candor as a system service (issue 8): sd_notify over a real `NOTIFY_SOCKET` the test binds,
//! signals (SIGTERM during IDLE and during a send, SIGHUP with a good and a broken
//! configuration), `candor status` beside the daemon, nothing secret at the most verbose level,
//! and personal data gone after `forget` and after retention (every table checked).

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use candor::testkit::{MailStack, SeedMessage, StackUser};
use jiff::{SignedDuration, Timestamp};

use crate::support::{
    TestConfig, account_toml, candor, message, stats, text, wait_until, write_config,
};

/// The datagram socket systemd would listen on; collects every notification.
struct NotifySocket {
    _dir: tempfile::TempDir,
    path: PathBuf,
    socket: UnixDatagram,
    /// Every datagram so far, each line apart, with its arrival.
    seen: Vec<(Instant, String)>,
}

impl NotifySocket {
    fn bind() -> NotifySocket {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        NotifySocket {
            _dir: dir,
            path,
            socket,
            seen: Vec::new(),
        }
    }

    /// Reads datagrams until one line satisfies `wanted` (also among those already seen after
    /// `from`), or `within` passes.
    fn wait_for(
        &mut self,
        from: usize,
        within: Duration,
        wanted: impl Fn(&str) -> bool,
    ) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some((_, line)) = self.seen[from.min(self.seen.len())..]
                .iter()
                .find(|(_, l)| wanted(l))
            {
                return Some(line.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let mut buf = [0u8; 4096];
            if let Ok(n) = self.socket.recv(&mut buf) {
                let at = Instant::now();
                for line in String::from_utf8_lossy(&buf[..n]).lines() {
                    self.seen.push((at, line.to_owned()));
                }
            }
        }
    }

    fn lines(&self) -> Vec<String> {
        self.seen.iter().map(|(_, l)| l.clone()).collect()
    }
}

/// `candor run` as systemd would start it; SIGTERM and reaped on drop.
struct Daemon {
    child: Child,
    stderr: PathBuf,
}

/// How to start the daemon.
#[derive(Default)]
struct Start<'a> {
    notify: Option<&'a Path>,
    watchdog_usec: Option<u64>,
    rust_log: Option<&'a str>,
    now: Option<Timestamp>,
}

impl Daemon {
    fn start(config: &TestConfig, how: Start<'_>) -> Daemon {
        let stderr = config.path.with_file_name("daemon.stderr");
        // `exec` keeps the shell's pid, so WATCHDOG_PID names the daemon as systemd does.
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg("WATCHDOG_PID=$$ exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_candor"))
            .arg("--config")
            .arg(&config.path);
        if let Some(now) = how.now {
            command.arg("--now").arg(now.to_string());
        }
        command
            .arg("run")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env("JOURNAL_STREAM", "8:1234")
            .env("RUST_LOG", how.rust_log.unwrap_or("info"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap());
        if let Some(path) = how.notify {
            command.env("NOTIFY_SOCKET", path);
        }
        if let Some(usec) = how.watchdog_usec {
            command.env("WATCHDOG_USEC", usec.to_string());
        }
        Daemon {
            child: command.spawn().unwrap(),
            stderr,
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn signal(&self, signal: libc::c_int) {
        // SAFETY: kill(2) on the child we spawned and have not reaped yet.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits for the exit; `None` if still running after `within`.
    fn exit_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            // SAFETY: as in `signal`; the child is still ours.
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
            if self.exit_within(Duration::from_secs(15)).is_none() {
                let _ = self.child.kill();
            }
            let _ = self.child.wait();
        }
    }
}

/// A loopback port where nothing listens.
fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn offline_account(name: &str, port: u16) -> String {
    format!(
        r#"
[[account]]
name = "{name}"
owner_name = "Owner {name}"
owner_addresses = ["{name}@agency.example"]
timezone = "UTC"
mode = "dry-run"

[account.imap]
host = "127.0.0.1"
port = {port}
tls = "none"
username = "{name}"
password_command = "echo never-sent"

[account.smtp]
host = "127.0.0.1"
port = {port}
tls = "none"
username = "{name}"
password_command = "echo never-sent"
"#
    )
}

#[test]
fn ready_comes_without_any_mail_server_then_status_watchdog_and_stopping_on_sigterm() {
    let mut notify = NotifySocket::bind();
    let port = dead_port();
    let config = write_config(&[&|_| offline_account("jane", port)]);
    let mut daemon = Daemon::start(
        &config,
        Start {
            notify: Some(&notify.path),
            watchdog_usec: Some(1_000_000),
            ..Start::default()
        },
    );
    // Nothing listens on the IMAP port: READY must not wait for it.
    let ready = notify.wait_for(0, Duration::from_secs(20), |l| l == "READY=1");
    assert!(
        ready.is_some(),
        "no READY=1: {:?}\n{}",
        notify.lines(),
        daemon.stderr()
    );
    let status = notify.wait_for(0, Duration::from_secs(20), |l| {
        l == "STATUS=1 account: jane reconnecting"
    });
    assert!(
        status.is_some(),
        "no STATUS line: {:?}\n{}",
        notify.lines(),
        daemon.stderr()
    );

    // WATCHDOG_USEC = 1 s: a ping about every 0.5 s.
    let first = notify.seen.len();
    for _ in 0..5 {
        let from = notify.seen.len();
        assert!(
            notify
                .wait_for(from, Duration::from_secs(5), |l| l == "WATCHDOG=1")
                .is_some(),
            "no WATCHDOG=1: {:?}",
            notify.lines()
        );
    }
    let pings: Vec<Instant> = notify.seen[first..]
        .iter()
        .filter(|(_, l)| l == "WATCHDOG=1")
        .map(|(at, _)| *at)
        .collect();
    let gaps: Vec<Duration> = pings.windows(2).map(|w| w[1] - w[0]).collect();
    let mean = gaps.iter().sum::<Duration>() / gaps.len() as u32;
    println!("watchdog gaps: {gaps:?}, mean {mean:?}");
    assert!(
        mean >= Duration::from_millis(300) && mean <= Duration::from_millis(800),
        "pings every half period (500 ms), not {mean:?}: {gaps:?}"
    );

    let before = notify.seen.len();
    let asked = Instant::now();
    daemon.signal(libc::SIGTERM);
    assert!(
        notify
            .wait_for(before, Duration::from_secs(10), |l| l == "STOPPING=1")
            .is_some(),
        "no STOPPING=1: {:?}",
        notify.lines()
    );
    let status = daemon.exit_within(Duration::from_secs(10));
    println!("stopped after {:?}", asked.elapsed());
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        daemon.stderr()
    );
    // The order systemd needs: READY before STATUS pings, STOPPING last of the lifecycle.
    let lines = notify.lines();
    let ready_at = lines.iter().position(|l| l == "READY=1").unwrap();
    let stopping_at = lines.iter().position(|l| l == "STOPPING=1").unwrap();
    assert!(ready_at < stopping_at);
    let stderr = daemon.stderr();
    assert!(
        !stderr.contains("\x1b["),
        "no colours under systemd:\n{stderr}"
    );
    let first_line = stderr.lines().next().unwrap_or_default();
    assert!(
        !first_line.starts_with(char::is_numeric),
        "no timestamps under journald: {first_line}"
    );
}

fn seeded(raw: Vec<u8>, at: Timestamp) -> SeedMessage {
    SeedMessage {
        raw,
        internal_date: at,
        flags: "S".to_owned(),
    }
}

fn dovecot_log(stack: &MailStack) -> String {
    std::fs::read_to_string(stack.dir().join("log/dovecot.log")).unwrap_or_default()
}

/// `candor status --json` for account `name`.
fn status_of(config: &TestConfig, name: &str) -> serde_json::Value {
    let out = candor(config, &["status", "--json"]);
    assert!(out.status.success(), "status: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no {name} in {json}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_idle_sends_done_and_logout_within_10_s_and_status_follows() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    let mut notify = NotifySocket::bind();
    let mut daemon = Daemon::start(
        &config,
        Start {
            notify: Some(&notify.path),
            ..Start::default()
        },
    );
    let (idle, _) = wait_until(Duration::from_secs(30), || {
        status_of(&config, "jane")["state"] == "idle"
    });
    let status = status_of(&config, "jane");
    assert!(idle, "never idle: {status}\n{}", daemon.stderr());
    assert_eq!(status["daemon_running"], true);
    assert!(status["last_sync"].is_string(), "{status}");
    assert!(status["next_action"].is_string(), "{status}");
    assert_eq!(status["needs_attention"], serde_json::json!([]), "{status}");
    let human = text(&candor(&config, &["status"]).stdout);
    assert!(human.contains("jane: idle since"), "{human}");
    assert!(
        notify
            .wait_for(0, Duration::from_secs(5), |l| l
                == "STATUS=1 account: jane idle")
            .is_some(),
        "{:?}",
        notify.lines()
    );

    let logouts = |log: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("imap({})", jane.username)) && l.contains("Logged out"))
            .count()
    };
    let before = logouts(&dovecot_log(&stack));
    let asked = Instant::now();
    daemon.signal(libc::SIGTERM);
    let exit = daemon.exit_within(Duration::from_secs(10));
    let took = asked.elapsed();
    println!("stopped after {took:?}");
    assert_eq!(exit.and_then(|s| s.code()), Some(0), "{}", daemon.stderr());
    // Dovecot writes the line when it has handled LOGOUT; give its log a moment.
    let (logged_out, _) = wait_until(Duration::from_secs(5), || {
        logouts(&dovecot_log(&stack)) > before
    });
    assert!(
        logged_out,
        "no LOGOUT in the Dovecot log:\n{}",
        dovecot_log(&stack)
    );
    assert!(
        notify
            .wait_for(0, Duration::from_secs(1), |l| l == "STOPPING=1")
            .is_some()
    );
    let status = status_of(&config, "jane");
    assert_eq!(status["state"], "not running", "{status}");
    assert_eq!(status["daemon_running"], false);
}

fn seed_one(stack: &MailStack, user: &StackUser, from: &str, id: &str, body: &str) {
    let at = Timestamp::now() - SignedDuration::from_hours(1);
    let raw = message(from, &user.address, "Hello", id, at, "", body);
    stack.seed(user, "INBOX", &[seeded(raw, at)]).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_applies_a_good_configuration_and_keeps_the_old_one_when_the_new_is_broken() {
    let stack = MailStack::start().unwrap();
    let jane = stack.add_user("jane@agency.example").unwrap();
    let tom = stack.add_user("tom@agency.example").unwrap();
    seed_one(
        &stack,
        &tom,
        "ann@candidates.example",
        "t1@candidates.example",
        "Hi Tom",
    );
    let config = write_config(&[&|dir| account_toml(&stack, "jane", &jane, dir, "")]);
    let mut notify = NotifySocket::bind();
    let daemon = Daemon::start(
        &config,
        Start {
            notify: Some(&notify.path),
            ..Start::default()
        },
    );
    let (synced, _) = wait_until(Duration::from_secs(30), || {
        stats(&config, "jane")["last_sync"].is_string()
    });
    assert!(synced, "{}", daemon.stderr());
    let jane_connections = |stderr: &str| {
        stderr
            .lines()
            .filter(|l| l.contains("account=jane") && l.contains(" connected"))
            .count()
    };
    assert_eq!(jane_connections(&daemon.stderr()), 1, "{}", daemon.stderr());

    // Good: Tom's account added.
    let original = std::fs::read_to_string(&config.path).unwrap();
    let dir = config.path.parent().unwrap();
    let with_tom = format!("{original}{}", account_toml(&stack, "tom", &tom, dir, ""));
    std::fs::write(&config.path, &with_tom).unwrap();
    let mark = notify.seen.len();
    daemon.signal(libc::SIGHUP);
    assert!(
        notify
            .wait_for(mark, Duration::from_secs(10), |l| l == "RELOADING=1")
            .is_some(),
        "{:?}",
        notify.lines()
    );
    assert!(
        notify
            .wait_for(mark, Duration::from_secs(10), |l| l == "READY=1")
            .is_some(),
        "READY again after the reload: {:?}",
        notify.lines()
    );
    let (tom_synced, _) = wait_until(Duration::from_secs(30), || {
        let out = candor(&config, &["stats", "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        json["accounts"]
            .as_array()
            .is_some_and(|all| all.iter().any(|a| a["name"] == "tom" && a["messages"] == 1))
    });
    assert!(tom_synced, "the new account synced:\n{}", daemon.stderr());
    assert!(
        daemon.stderr().contains("configuration reloaded"),
        "{}",
        daemon.stderr()
    );
    assert_eq!(
        jane_connections(&daemon.stderr()),
        1,
        "the unchanged account kept its connection:\n{}",
        daemon.stderr()
    );

    // Broken: every problem logged, the running accounts go on.
    let broken = format!("{with_tom}\n[[account]]\nname = \"broken\"\nmode = \"sometimes\"\n");
    std::fs::write(&config.path, &broken).unwrap();
    let mark = notify.seen.len();
    daemon.signal(libc::SIGHUP);
    assert!(
        notify
            .wait_for(mark, Duration::from_secs(10), |l| l == "READY=1")
            .is_some()
    );
    let (logged, _) = wait_until(Duration::from_secs(10), || {
        daemon
            .stderr()
            .contains("the configuration was not reloaded")
    });
    let stderr = daemon.stderr();
    assert!(logged, "{stderr}");
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("candor.toml:") && l.contains("account[2]"))
        .collect();
    assert!(problems.len() >= 2, "every problem is logged:\n{stderr}");
    assert!(problems.iter().any(|l| l.contains("mode")), "{problems:?}");
    // Tom still syncs: a new message arrives and is stored.
    seed_one(
        &stack,
        &tom,
        "bob@candidates.example",
        "t2@candidates.example",
        "Hi again",
    );
    // The configuration file is broken now: read the store itself.
    let (stored, _) = wait_until(Duration::from_secs(30), || {
        messages_of(&store_path(&config), "tom") == 2
    });
    assert!(
        stored,
        "the old configuration keeps running:\n{}",
        daemon.stderr()
    );
}

/// A minimal SMTP server on loopback (plaintext, `tls = "none"` is allowed there) that holds
/// the reply to the end of DATA for `hold`, and tells the test when DATA arrived.
fn slow_smtp(hold: Duration) -> (u16, mpsc::Receiver<()>) {
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

fn serve_smtp(stream: TcpStream, hold: Duration, data: mpsc::Sender<()>) {
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

const ALL_DAYS: &str = "\n[account.scope]\nmode = \"all\"\n\n[account.schedule]\nbusiness_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"]\nsend_hours = \"00:00-24:00\"\n\n[account.digest]\nschedule = \"off\"\n";

/// Jane in auto mode, all days, scope all; `smtp` replaces the stack's submission port.
fn auto_config(
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
fn silent_candidate(
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

fn jane_writes_to_ann(stack: &MailStack, jane: &StackUser, t0: Timestamp, body: &str) {
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

fn base() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap()
}

fn outbox_states(config: &TestConfig) -> Vec<String> {
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
async fn sigterm_during_a_send_lets_the_smtp_transaction_finish_and_records_it_sent() {
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

fn messages_of(store: &Path, account: &str) -> i64 {
    let conn =
        rusqlite::Connection::open_with_flags(store, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    conn.query_row(
        "SELECT count(*) FROM messages m JOIN accounts a ON a.id = m.account_id WHERE a.name = ?1",
        [account],
        |r| r.get(0),
    )
    .unwrap()
}

fn store_path(config: &TestConfig) -> PathBuf {
    config.path.with_file_name("candor.db")
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
