//! Server processes of a stack: launching, telling them apart, stopping, and the `vmail` user.
//!
//! Every server process of a stack carries `CANDOR_STACK_DIR=<dir>` in its environment: we set it
//! when launching the masters, and both masters pass it to their children through
//! `import_environment`. `/proc/PID/environ` of a zombie is empty, so reaped-or-not does not matter.

use std::ffi::CString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::conf::STACK_ENV;

/// The ids of the live processes that belong to the stack in `dir`, or to any stack when `None`.
///
/// Postfix processes keep our marker in `/proc/PID/environ`. Dovecot overwrites the environment
/// area with its process titles (seen with 2.3.19, 2025), so its master is recognised by the
/// `-c DIR/dovecot/dovecot.conf` on its command line and its children by their title, which
/// starts with the stack's unique `instance_name`.
pub fn stack_processes(dir: Option<&Path>) -> Vec<u32> {
    let marker = dir.map(|dir| {
        let mut marker = format!("{STACK_ENV}=").into_bytes();
        marker.extend_from_slice(dir.as_os_str().as_encoded_bytes());
        marker
    });
    let prefix = format!("{STACK_ENV}=").into_bytes();
    let title = dir.map(|dir| format!("dovecot-{}/", instance_name(dir)));
    let config = dir.map(|dir| dir.join("dovecot/dovecot.conf").display().to_string());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            // A process may vanish between listing and reading: it is not ours then. Zombies
            // read as empty, which is right: they hold no port and no file.
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let marked = environ.split(|byte| *byte == 0).any(|var| match &marker {
                Some(marker) => var == marker.as_slice(),
                None => var.starts_with(&prefix),
            });
            marked || {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cmdline = String::from_utf8_lossy(&cmdline);
                is_dovecot_of_stack(&cmdline, title.as_deref(), config.as_deref())
            }
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// Dovecot's `instance_name` for the stack in `dir`: unique per directory, and what its
/// children's process titles start with.
pub fn instance_name(dir: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(dir.as_os_str().as_encoded_bytes());
    let hex: String = digest
        .iter()
        .take(6)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("candor-s{hex}")
}

fn is_dovecot_of_stack(cmdline: &str, title: Option<&str>, config: Option<&str>) -> bool {
    let mut args = cmdline.split('\0');
    let first = args.next().unwrap_or_default();
    match (title, config) {
        (Some(title), Some(config)) => {
            first.starts_with(title)
                || (first.ends_with("dovecot") && cmdline.split('\0').any(|arg| arg == config))
        }
        _ => {
            let is_child = first.strip_prefix("dovecot-candor-s").is_some_and(|rest| {
                rest.len() > 13
                    && rest.as_bytes()[12] == b'/'
                    && rest[..12].bytes().all(|b| b.is_ascii_hexdigit())
            });
            let is_master = first.ends_with("dovecot")
                && args.any(|arg| {
                    arg.strip_suffix("/dovecot/dovecot.conf")
                        .is_some_and(|dir| Path::new(dir).join("stack.state").exists())
                });
            is_child || is_master
        }
    }
}

/// The pid in a pid file (Dovecot's `master.pid`, Postfix's `pid/master.pid`), if any.
pub fn read_pid_file(path: &Path) -> Option<i32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Sends `signal` to `pid`; a process that is already gone is not an error.
pub fn signal(pid: i32, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Polls `done` every few milliseconds until it holds or `timeout` passes.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs a server's start command with the stack marker set, stdin from /dev/null and output to
/// `log` (the daemonised masters keep the launcher's stderr open: a pipe would never close).
pub fn run_launcher(command: &mut Command, dir: &Path, log: &Path) -> anyhow::Result<()> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let err = out
        .try_clone()
        .context("duplicating the launcher log handle")?;
    let status = command
        .env(STACK_ENV, dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .with_context(|| format!("running {command:?}"))?;
    if !status.success() {
        let tail = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(8).collect();
        bail!(
            "{command:?} exited with {status}; last log lines (newest first): {}",
            tail.join(" | ")
        );
    }
    Ok(())
}

/// SIGKILLs whatever is left of a stack's processes after a graceful stop timed out.
pub fn kill_leftovers(dir: &Path) {
    for pid in stack_processes(Some(dir)) {
        if let Ok(pid) = i32::try_from(pid) {
            signal(pid, libc::SIGKILL);
        }
    }
}

/// A free TCP port on 127.0.0.1 (bind port 0, read it back, release it).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    Ok(listener
        .local_addr()
        .context("reading the bound address")?
        .port())
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    wait_until(timeout, || {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_millis(200),
        )
        .is_ok()
    })
}

/// The uid and gid of a system user, if it exists.
pub fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let name = CString::new(name).ok()?;
    // SAFETY: getpwnam returns null or a pointer to a static record that we copy at once; calls
    // are serialised by USER_LOCK within this process.
    let _guard = USER_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let record = unsafe { libc::getpwnam(name.as_ptr()) };
    if record.is_null() {
        return None;
    }
    // SAFETY: non-null, points to a valid passwd record until the next getpw* call.
    let record = unsafe { &*record };
    Some((record.pw_uid, record.pw_gid))
}

static USER_LOCK: Mutex<()> = Mutex::new(());

/// The `vmail` user that owns every Maildir (Dovecot refuses mail owned by uid 0), created
/// with `useradd` when missing, exactly as `scripts/install-mailstack.sh` does.
pub fn ensure_vmail() -> anyhow::Result<(u32, u32)> {
    if let Some(ids) = lookup_user("vmail") {
        return Ok(ids);
    }
    static CREATE_LOCK: Mutex<()> = Mutex::new(());
    let _guard = CREATE_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(ids) = lookup_user("vmail") {
        return Ok(ids);
    }
    let output = Command::new("useradd")
        .args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
        ])
        .args(["--shell", "/usr/sbin/nologin", "vmail"])
        .stdin(Stdio::null())
        .output()
        .context("running useradd to create the vmail user")?;
    // Another process may have created it meanwhile: look again before reporting the failure.
    match lookup_user("vmail") {
        Some(ids) => Ok(ids),
        None => bail!(
            "creating the vmail user failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
    }
}

/// Changes the owner of `path` (not following symlinks).
pub fn chown(path: &Path, ids: (u32, u32)) -> anyhow::Result<()> {
    std::os::unix::fs::lchown(path, Some(ids.0), Some(ids.1))
        .with_context(|| format!("chown {}", path.display()))
}

/// A directory with mode 0755 (Dovecot's auth and Postfix run as other users and must traverse).
pub fn dir_0755(path: PathBuf) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("chmod 0755 {}", path.display()))?;
    Ok(path)
}
