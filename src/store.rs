//! The SQLite store: the only module that knows SQL.
//!
//! One connection per process behind a mutex. Async code reaches it through one narrow door,
//! [`Store::call`], which runs a closure on a blocking thread inside one transaction; query
//! functions are plain synchronous `fn(&Transaction, ...)` so they can be tested on an in-memory
//! database without a runtime. Never hold the connection across an `.await`.

pub mod digests;
pub mod ingest;
mod keys;
mod lock;
pub mod mailbox;
pub mod outbox;
pub mod recipients;
pub mod retention;
mod schema;
pub mod stats;
pub mod status;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use lock::{DaemonLock, LockError};
pub use schema::LATEST_VERSION;

/// How long a writer waits for another process's short transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The page size of a new store, in bytes (SQLite's default is 4096; a store keeps the size it
/// was created with). A first sync of 100k messages spent a tenth of its store time on per-page
/// work (b-tree balancing, WAL frames, one write per page): with 16 KiB pages it took 10% less
/// CPU (`examples/store_bench`: 10.5-11.1 us per message at 4 KiB, 9.0-9.4 at 16 KiB) and the
/// whole sync 6-8% less, for twice the bytes written, as an index page that a commit touches is
/// written whole (issue 4; `BENCHMARKS.md`).
const NEW_STORE_PAGE_SIZE: i64 = 16 * 1024;
/// Bytes the WAL file is cut back to after a checkpoint: without a limit it keeps the size of
/// its largest run (the ingest lets it grow to 40 MiB between checkpoints).
const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

/// Errors a caller branches on when opening the store.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "the store {path} was written by a newer candor (schema version {found}, this candor knows up to {known}): upgrade candor or point storage.path elsewhere"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "the store {path} needs upgrading (schema version {found} to {known}), but {holder} is running on it: stop it first (an older daemon would keep writing the old way)"
    )]
    InUse {
        path: PathBuf,
        holder: String,
        found: i64,
        known: i64,
    },
    #[error("cannot open the store {path}: {source:#}")]
    Other {
        path: PathBuf,
        source: anyhow::Error,
    },
}

/// Handle to the store, cheap to clone.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Store {
    /// Opens (creating owner-only if needed) the database at `path` and migrates it to the
    /// latest schema. Refuses a database written by a newer candor.
    pub fn open(path: &Path) -> Result<Store, OpenError> {
        let other = |source: anyhow::Error| OpenError::Other {
            path: path.to_owned(),
            source,
        };
        create_owner_only(path).map_err(other)?;
        // Switching to WAL and migrating take locks for which SQLite does not always call the
        // busy handler: a daemon starting while `candor status` opened the same store failed
        // with "database is locked" (seen in tests). Such a collision is retried, briefly.
        let started = std::time::Instant::now();
        let conn = loop {
            match open_configured(path) {
                Ok(conn) => break conn,
                Err(schema::MigrateError::TooNew { found }) => {
                    return Err(OpenError::TooNew {
                        path: path.to_owned(),
                        found,
                        known: LATEST_VERSION,
                    });
                }
                Err(schema::MigrateError::InUse { holder, found }) => {
                    return Err(OpenError::InUse {
                        path: path.to_owned(),
                        holder,
                        found,
                        known: LATEST_VERSION,
                    });
                }
                Err(schema::MigrateError::Sql(e))
                    if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(schema::MigrateError::Sql(e)) => return Err(other(e.into())),
                Err(e @ schema::MigrateError::BrokenReferences { .. }) => {
                    return Err(other(anyhow::Error::new(e)));
                }
            }
        };
        Ok(Store {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// An in-memory store at the latest schema, for tests.
    pub fn open_in_memory() -> anyhow::Result<Store> {
        let mut conn = Connection::open_in_memory()?;
        configure(&conn)?;
        schema::migrate(&mut conn).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Store {
            path: PathBuf::from(":memory:"),
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the process `pid` holds this store's daemon lock (`None`: cannot be told).
    pub fn locked_by(&self, pid: u32) -> Option<bool> {
        lock::held_by(&self.path, pid)
    }

    /// Takes the one-daemon-per-store lock (SPEC §8) for `run`, `run --once` and `sync`.
    pub fn lock_daemon(&self, what: &str) -> Result<DaemonLock, LockError> {
        DaemonLock::acquire(&self.path, what)
    }

    /// Runs `f` in one immediate (write-locking) transaction on a blocking thread, committing
    /// when it returns `Ok`.
    pub async fn call<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> anyhow::Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.call_blocking(f))
            .await
            .context("the store task panicked")?
    }

    /// SQLite's `data_version`: changes when another connection commits.
    pub async fn data_version(&self) -> anyhow::Result<i64> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = store
                .conn
                .lock()
                .map_err(|_| anyhow::anyhow!("the store connection was poisoned by a panic"))?;
            Ok(conn.pragma_query_value(None, "data_version", |r| r.get(0))?)
        })
        .await
        .context("the store task panicked")?
    }

    /// The same as [`Store::call`] for synchronous callers (one-shot commands, tests).
    pub fn call_blocking<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> anyhow::Result<T>,
    {
        self.transaction(Durability::Synced, f)
    }

    /// [`Store::call`] for writes that are safe to lose, committed without waiting for the disk
    /// (`synchronous = NORMAL`): ingest batches, fetched again if lost because their folder
    /// cursor is lost with them, and the daemon's status rows, rewritten at every state change.
    /// Anything candor acts on outside the store (an email sent, a digest marked) goes through
    /// [`Store::call`], whose synced commit also makes every earlier relaxed one durable.
    pub async fn call_relaxed<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> anyhow::Result<T> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.call_relaxed_blocking(f))
            .await
            .context("the store task panicked")?
    }

    /// [`Store::call_relaxed`] for a caller already on a blocking thread (the ingest storer,
    /// which keeps one transaction open while batches keep coming).
    pub fn call_relaxed_blocking<T, F>(&self, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> anyhow::Result<T>,
    {
        self.transaction(Durability::Relaxed, f)
    }

    fn transaction<T, F>(&self, durability: Durability, f: F) -> anyhow::Result<T>
    where
        F: FnOnce(&Transaction<'_>) -> anyhow::Result<T>,
    {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| anyhow::anyhow!("the store connection was poisoned by a panic"))?;
        if durability == Durability::Relaxed {
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        let result = (|| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .context("cannot begin a store transaction")?;
            let value = f(&tx)?;
            tx.commit().context("cannot commit a store transaction")?;
            Ok(value)
        })();
        if durability == Durability::Relaxed {
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        result.map_err(|e| {
            // SAFETY: the handle belongs to `conn`, which the lock keeps alive and unshared.
            let errno = unsafe { rusqlite::ffi::sqlite3_system_errno(conn.handle()) };
            self.diagnose(e, errno)
        })
    }

    /// SQLite reports a file system that turned read-only under an open database as a plain
    /// "disk I/O error": name the cause from the failed system call's `errno` (or the mount).
    fn diagnose(&self, error: anyhow::Error, errno: i32) -> anyhow::Error {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        if errno == libc::EROFS || read_only(dir) == Some(true) {
            error.context(format!(
                "the file system holding the store ({}) is read-only (a disk error? see the kernel log)",
                dir.display()
            ))
        } else if errno == libc::ENOSPC {
            error.context(format!(
                "the disk holding the store ({}) is full",
                dir.display()
            ))
        } else {
            error
        }
    }
}

/// Whether the file system holding `dir` is mounted (or was turned) read-only; `None` when
/// `statvfs` fails.
fn read_only(dir: &Path) -> Option<bool> {
    use std::os::unix::ffi::OsStrExt as _;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a valid NUL-terminated path and `st` is written by statvfs on success.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    Some(st.f_flag & libc::ST_RDONLY != 0)
}

/// Whether a commit waits for the disk.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// `synchronous = FULL`: on disk when the commit returns, even across a power cut or a file
    /// system that turns read-only after an error (outage campaign, 2026-11-26).
    Synced,
    /// `synchronous = NORMAL`: survives a crash of candor, not of the machine.
    Relaxed,
}

/// Creates the database's directory (0700) and file (0600) when missing, so that nothing candor
/// stores is ever readable by others (SPEC §12). SQLite gives its -wal and -shm files the
/// permissions of the database file.
fn create_owner_only(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => {}
        // Another process (the daemon and a command started together) created it first.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mode = fs::metadata(path)?.permissions().mode();
            if mode & 0o077 != 0 {
                fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700))
                    .with_context(|| format!("cannot make {} owner-only", path.display()))?;
            }
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
    Ok(())
}

/// Opens `path`, sets the connection up and migrates it: one attempt of [`Store::open`].
///
/// A store that needs migrating is migrated only while no daemon runs on it (its lock is free,
/// and held meanwhile): a daemon of the previous version would go on writing the old way, which
/// after migration 8 means keys the new code never matches, so duplicates with no error.
fn open_configured(path: &Path) -> Result<Connection, schema::MigrateError> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    let found = schema::version(&conn)?;
    let _upgrading = if found > 0 && found < LATEST_VERSION {
        // Waits for another process migrating it; a daemon is refused at once.
        match DaemonLock::acquire(path, lock::UPGRADING) {
            Ok(lock) => Some(lock),
            Err(LockError::Held { holder, .. }) => {
                return Err(schema::MigrateError::InUse { holder, found });
            }
            // No lock file can be made (a read-only disk): the migration reports its own error.
            Err(LockError::Io { .. }) => None,
        }
    } else {
        None
    };
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// SQLITE_BUSY or SQLITE_LOCKED: another connection holds a lock we need.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Before the first write, which fixes it: a no-op on a store that exists.
    conn.pragma_update(None, "page_size", NEW_STORE_PAGE_SIZE)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}
