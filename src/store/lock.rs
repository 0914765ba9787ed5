//! The one-daemon-per-store lock (SPEC §8).
//!
//! `run`, `run --once` and `sync` hold an exclusive `flock` on `<store>.lock` for their whole
//! life; the kernel releases it when the process dies, so a `kill -9` never leaves a stale lock.
//! Commands that only change state (`candidate close`, `outbox cancel`, ...) do not take it: they
//! are one short SQLite transaction each, which WAL lets run beside the daemon.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::fd::AsRawFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Held for as long as the value lives.
#[derive(Debug)]
pub struct DaemonLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another candor ({holder}) is already using the store {store}; stop it first (state-changing commands such as `candor candidate pause` work beside it)"
    )]
    Held { store: PathBuf, holder: String },
    #[error("cannot lock {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The holder named when the lock file says nothing yet (its holder took the lock and has not
/// written its name).
const UNKNOWN_HOLDER: &str = "unknown process";

/// What the lock file says while a process migrates the store (`Store::open`).
pub(crate) const UPGRADING: &str = "candor (upgrading the store)";

/// How long [`DaemonLock::acquire`] waits for a holder that will let go soon: one migrating the
/// store, or one that has not yet written its name.
const BRIEF_HOLDER_WAIT: Duration = Duration::from_secs(10);

fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl DaemonLock {
    /// Takes the lock; `what` (e.g. "candor run, pid 42") is written into the lock file so that
    /// a refusal can name the holder. A daemon's lock is refused at once; one held while another
    /// process migrates the store (or not yet named) is waited for, up to 10 s: a daemon
    /// starting while `candor status` upgrades the store must not exit.
    pub fn acquire(store: &Path, what: &str) -> Result<DaemonLock, LockError> {
        let started = Instant::now();
        loop {
            match DaemonLock::try_acquire(store, what) {
                Err(LockError::Held { holder, .. })
                    if (holder == UNKNOWN_HOLDER || holder.starts_with(UPGRADING))
                        && started.elapsed() < BRIEF_HOLDER_WAIT =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => return other,
            }
        }
    }

    fn try_acquire(store: &Path, what: &str) -> Result<DaemonLock, LockError> {
        let path = lock_path(store);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // SAFETY: flock on a file descriptor we own; no memory is involved.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    store: store.to_owned(),
                    holder: if holder.is_empty() {
                        UNKNOWN_HOLDER.to_owned()
                    } else {
                        holder.to_owned()
                    },
                });
            }
            return Err(io(err));
        }
        let label = format!("{what}, pid {}", std::process::id());
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(label.as_bytes()).map_err(io)?;
        Ok(DaemonLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether the process `pid` holds the lock of `store` now, from the kernel's table of locks
/// (`/proc/locks`); `None` when that cannot be told (no such table). A pid alone is no proof:
/// after a `kill -9` and a reboot, another process may have it.
pub fn held_by(store: &Path, pid: u32) -> Option<bool> {
    use std::os::unix::fs::MetadataExt as _;
    let table = std::fs::read_to_string("/proc/locks").ok()?;
    // No lock file: nobody ever held it.
    let Ok(file) = std::fs::metadata(lock_path(store)) else {
        return Some(false);
    };
    Some(table.lines().any(|line| holds(line, pid, file.ino())))
}

/// One line of `/proc/locks`: `1: FLOCK  ADVISORY  WRITE 26069 fe:00:6086662 0 EOF`.
fn holds(line: &str, pid: u32, inode: u64) -> bool {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // A lock someone waits for is listed with "->" after its number: not held.
    match fields.as_slice() {
        [_, "FLOCK", _, _, holder, device, ..] => {
            holder.parse() == Ok(pid)
                && device
                    .rsplit(':')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    == Some(inode)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("candor.db");
        let first = DaemonLock::acquire(&store, "candor run").unwrap();
        match DaemonLock::acquire(&store, "candor sync") {
            Err(LockError::Held { holder, .. }) => {
                assert!(holder.starts_with("candor run, pid "), "{holder}")
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        DaemonLock::acquire(&store, "candor sync").expect("free again after drop");
    }

    #[test]
    fn the_kernel_says_who_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("candor.db");
        assert_eq!(
            held_by(&store, std::process::id()),
            Some(false),
            "no lock file yet"
        );
        let lock = DaemonLock::acquire(&store, "candor run").unwrap();
        assert_eq!(held_by(&store, std::process::id()), Some(true));
        assert_eq!(held_by(&store, 1), Some(false), "another pid");
        drop(lock);
        assert_eq!(held_by(&store, std::process::id()), Some(false), "released");
        assert!(holds("1: FLOCK  ADVISORY  WRITE 42 fe:00:77 0 EOF", 42, 77));
        assert!(!holds(
            "1: -> FLOCK  ADVISORY  WRITE 42 fe:00:77 0 EOF",
            42,
            77
        ));
        assert!(!holds(
            "2: POSIX  ADVISORY  WRITE 42 fe:00:77 0 EOF",
            42,
            77
        ));
        assert!(!holds("garbage", 42, 77));
    }
}
