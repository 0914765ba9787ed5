//! Passwords: the `Secret` newtype that never prints, and the three ways to obtain one
//! (literal, file, command), resolved at connect time rather than at load time.

use std::fmt;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::RecvTimeoutError;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

/// A password or token. `Debug` and `Display` print `***` so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that hands it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a server's password (or XOAUTH2 token) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// `password = "..."`: allowed only in a file not readable by group or others.
    Literal(Secret),
    /// `password_file`: environment variables already expanded at load time.
    File(PathBuf),
    /// `password_command`: run through `sh -c` each time the password is needed.
    Command(String),
}

impl PasswordSource {
    /// Obtains the secret. Blocking (reads a file or runs a command): call it off the async
    /// workers. A file's content loses one trailing newline; a command's stdout is trimmed.
    /// Errors never contain the output of the command or the content of the file.
    pub fn resolve(&self) -> anyhow::Result<Secret> {
        match self {
            PasswordSource::Literal(secret) => Ok(secret.clone()),
            PasswordSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("password_file: cannot read {}", path.display()))?;
                let trimmed = text
                    .strip_suffix("\r\n")
                    .or_else(|| text.strip_suffix('\n'))
                    .unwrap_or(&text);
                if trimmed.is_empty() {
                    bail!("password_file: {} is empty", path.display());
                }
                Ok(Secret::new(trimmed))
            }
            PasswordSource::Command(command) => run_password_command(command),
        }
    }
}

/// How long a `password_command` may run. A command that hangs (a pinentry waiting for a
/// person, a vault client waiting for its network) would otherwise hold the account, and the
/// daemon's stop, for ever (found in review). Longer with a terminal, where it may be asking
/// the person at it for a passphrase.
const PASSWORD_COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const PASSWORD_COMMAND_TIMEOUT_AT_A_TERMINAL: Duration = Duration::from_secs(120);
/// How long its output may take to arrive once the command has exited.
const OUTPUT_GRACE: Duration = Duration::from_secs(2);

/// Set once the daemon is stopping: a password command running then is killed at once.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// The daemon is stopping: every password command running now or later is killed (with what it
/// started) and its lookup fails. Only a password lookup is abandoned; its connection or send
/// fails before anything reached a server. Found in review: the runtime's exit waited for a
/// slow command's blocking thread (SIGTERM 2 s into `sleep 25; echo pw` took 23 s, past
/// systemd's TimeoutStopSec).
pub fn stop_password_commands() {
    STOPPING.store(true, Ordering::SeqCst);
}

fn run_password_command(command: &str) -> anyhow::Result<Secret> {
    let terminal = std::fs::File::open("/dev/tty").is_ok();
    let limit = if terminal {
        PASSWORD_COMMAND_TIMEOUT_AT_A_TERMINAL
    } else {
        PASSWORD_COMMAND_TIMEOUT
    };
    run_password_command_within(command, limit, !terminal, &STOPPING)
}

/// Runs `command` with `sh -c` and takes its trimmed stdout, stopping it after `limit`, or as
/// soon as `stopping` is set. With `own_group` it runs in a process group of its own, so that a
/// timeout kills whatever it started too; not at a terminal, where that would keep it from
/// reading a passphrase (a background group is stopped when it reads the terminal).
pub(super) fn run_password_command_within(
    command: &str,
    limit: Duration,
    own_group: bool,
    stopping: &AtomicBool,
) -> anyhow::Result<Secret> {
    let deadline = Instant::now() + limit;
    let timed_out = || {
        if stopping.load(Ordering::SeqCst) {
            anyhow!("password_command stopped: candor is stopping")
        } else {
            anyhow!(
                "password_command did not finish within {} s: stopped",
                limit.as_secs()
            )
        }
    };
    // stderr is inherited: it carries the tool's diagnostics (gpg, pass), never the secret.
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if own_group {
        sh.process_group(0);
    }
    let mut child = sh.spawn().context("password_command: cannot run sh")?;
    let stop = |child: &mut std::process::Child| {
        match i32::try_from(child.id()) {
            // SAFETY: kill(2) with a negative pid signals the process group the child leads
            // (`process_group(0)` above); no memory is involved.
            Ok(group) if own_group => unsafe {
                libc::kill(-group, libc::SIGKILL);
            },
            _ => {
                let _ = child.kill();
            }
        }
        let _ = child.wait();
    };
    let mut stdout = child.stdout.take().context("password_command: no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = stdout.read_to_end(&mut bytes).map(|_| bytes);
        let _ = tx.send(read);
    });
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .context("password_command: cannot wait for it")?
        {
            break status;
        }
        if Instant::now() >= deadline || stopping.load(Ordering::SeqCst) {
            stop(&mut child);
            return Err(timed_out());
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output_deadline = deadline.max(Instant::now() + OUTPUT_GRACE);
    let output = loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(read) => break read.context("password_command: cannot read its output")?,
            Err(RecvTimeoutError::Timeout)
                if Instant::now() < output_deadline && !stopping.load(Ordering::SeqCst) => {}
            // Something it started still holds its output open.
            Err(_) => {
                stop(&mut child);
                return Err(timed_out());
            }
        }
    };
    if !status.success() {
        bail!("password_command failed ({status})");
    }
    let Ok(text) = String::from_utf8(output) else {
        bail!("password_command printed something that is not UTF-8");
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        bail!("password_command printed nothing");
    }
    Ok(Secret::new(trimmed))
}
