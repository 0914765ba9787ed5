//! candor as a system service (issue 8): sd_notify over a real `NOTIFY_SOCKET` the test binds,
//! signals (SIGTERM during IDLE and during a send, SIGHUP with a good and a broken
//! configuration), `candor status` beside the daemon, nothing secret at the most verbose level,
//! and personal data gone after `forget` and after retention (every table checked).

use std::net::TcpListener;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
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

mod privacy;
mod sending;

/// Regression (review): the runtime's exit waited for a slow `password_command` on its blocking
/// thread: SIGTERM 2 s into `sleep 25; echo pw` took 23 s, past systemd's TimeoutStopSec. The
/// stop now kills the command (only a password lookup is abandoned) and the daemon exits
/// within 10 s.
#[test]
fn sigterm_while_a_password_command_runs_still_stops_within_10_s() {
    use std::io::Write as _;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.write_all(b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
            held.push(stream);
        }
    });
    let asked_marker = std::cell::RefCell::new(PathBuf::new());
    let config = write_config(&[&|dir| {
        let marker = dir.join("password-asked");
        *asked_marker.borrow_mut() = marker.clone();
        offline_account("jane", port).replacen(
            "password_command = \"echo never-sent\"",
            &format!(
                "password_command = \"touch '{}'; sleep 25; echo pw\"",
                marker.display()
            ),
            1,
        )
    }]);
    let marker = asked_marker.into_inner();
    let mut daemon = Daemon::start(&config, Start::default());
    let (asked, _) = wait_until(Duration::from_secs(20), || marker.exists());
    assert!(
        asked,
        "the password command never ran:\n{}",
        daemon.stderr()
    );
    // Well inside the command's 25 s, and past the moment it started.
    std::thread::sleep(Duration::from_secs(1));
    let asked = Instant::now();
    daemon.signal(libc::SIGTERM);
    let exit = daemon.exit_within(Duration::from_secs(10));
    println!("stopped after {:?}", asked.elapsed());
    assert!(
        exit.is_some(),
        "still running 10 s after SIGTERM:\n{}",
        daemon.stderr()
    );
}
