//! The store on disk: migrations from empty, reopening, the newer-schema guard, owner-only
//! files and the one-daemon lock beside a state-changing writer in another process.

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use candor::store::{LATEST_VERSION, LockError, OpenError, Store};

fn user_version(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

/// Adds an account row, as a first sync would.
fn add_account(store: &Store, name: &'static str) {
    store
        .call_blocking(move |tx| {
            tx.execute(
                "INSERT INTO accounts (name, created_at) VALUES (?1, 1)",
                [name],
            )?;
            Ok(())
        })
        .unwrap();
}

/// Rewrites the schema version a store says it has, as an older or newer candor would leave it.
fn set_user_version(path: &std::path::Path, version: i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_update(None, "user_version", version).unwrap();
}

#[test]
fn store_is_created_owner_only_and_migrated_from_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/candor/candor.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), LATEST_VERSION);
    let dir_mode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o777, 0o700, "store directory is owner-only");
    let file_mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(file_mode & 0o777, 0o600, "store file is owner-only");
    let journal: String = store
        .call_blocking(|tx| Ok(tx.pragma_query_value(None, "journal_mode", |r| r.get(0))?))
        .unwrap();
    assert_eq!(journal, "wal");
}

#[test]
fn store_reopens_with_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("candor.db");
    {
        let store = Store::open(&path).unwrap();
        add_account(&store, "jane");
    }
    let store = Store::open(&path).unwrap();
    let names: Vec<String> = store
        .call_blocking(|tx| {
            let mut stmt = tx.prepare("SELECT name FROM accounts")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .unwrap();
    assert_eq!(names, ["jane"]);
    assert_eq!(user_version(&path), LATEST_VERSION);
}

fn page_size(path: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.pragma_query_value(None, "page_size", |r| r.get(0))
        .unwrap()
}

/// A new store has 16 KiB pages (the cheaper first sync of issue 4); a store made before keeps
/// its 4 KiB pages and its data, as SQLite cannot change the page size of a WAL database.
#[test]
fn a_new_store_has_16_kib_pages_and_an_older_store_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.db");
    drop(Store::open(&new).unwrap());
    assert_eq!(page_size(&new), 16 * 1024);

    let old = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&old).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE before_candor (x INTEGER)")
            .unwrap();
    }
    assert_eq!(page_size(&old), 4096);
    let store = Store::open(&old).unwrap();
    add_account(&store, "jane");
    drop(store);
    assert_eq!(page_size(&old), 4096);
    assert_eq!(user_version(&old), LATEST_VERSION);
}

#[test]
fn store_written_by_a_newer_candor_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("candor.db");
    drop(Store::open(&path).unwrap());
    set_user_version(&path, LATEST_VERSION + 3);
    match Store::open(&path) {
        Err(err @ OpenError::TooNew { .. }) => {
            let text = err.to_string();
            assert!(text.contains("newer candor"), "{text}");
            assert!(text.contains("upgrade candor"), "{text}");
        }
        other => panic!("expected TooNew, got {other:?}"),
    }
    assert_eq!(user_version(&path), LATEST_VERSION + 3, "left untouched");
}

#[test]
fn a_store_is_not_migrated_under_a_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("candor.db");
    // A store of the previous schema version, its daemon still running.
    let store = Store::open(&path).unwrap();
    let daemon = store.lock_daemon("candor run").unwrap();
    drop(store);
    set_user_version(&path, LATEST_VERSION - 1);
    match Store::open(&path) {
        Err(err @ OpenError::InUse { .. }) => {
            let text = err.to_string();
            assert!(text.contains("candor run"), "names the holder: {text}");
            assert!(text.contains("stop it first"), "{text}");
        }
        other => panic!("expected InUse, got {other:?}"),
    }
    assert_eq!(user_version(&path), LATEST_VERSION - 1, "left untouched");
    // Once it stops, the upgrade goes through, and the lock is free again afterwards.
    drop(daemon);
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), LATEST_VERSION);
    // (Another test of this process may fork while the upgrade holds the lock: the child keeps
    // it until it execs, so the lock may take a moment to be free.)
    let started = std::time::Instant::now();
    while let Err(err) = store.lock_daemon("candor run") {
        assert!(
            started.elapsed().as_secs() < 10,
            "the lock stays held: {err}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn second_daemon_is_refused_while_another_process_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("candor.db");
    let store = Store::open(&path).unwrap();
    let _daemon = store.lock_daemon("candor run").unwrap();

    // A second daemon on the same store, even through a fresh handle, is refused by name.
    let second = Store::open(&path).unwrap();
    match second.lock_daemon("candor sync") {
        Err(err @ LockError::Held { .. }) => {
            let text = err.to_string();
            assert!(text.contains("candor run, pid"), "{text}");
        }
        other => panic!("expected Held, got {other:?}"),
    }

    // A short state-changing transaction from another process succeeds beside the daemon.
    let script = format!(
        "import sqlite3; c = sqlite3.connect({path:?}, timeout=10); \
         c.execute(\"INSERT INTO accounts (name, created_at) VALUES ('from-another-process', 2)\"); \
         c.commit()",
        path = path.to_str().unwrap()
    );
    let status = Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success(), "the other process could write: {status}");
    let seen: i64 = store
        .call_blocking(|tx| {
            Ok(tx.query_row(
                "SELECT count(*) FROM accounts WHERE name = 'from-another-process'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(
        seen, 1,
        "the daemon's connection sees the other process's write"
    );
}

#[tokio::test]
async fn commits_are_synced_to_disk_except_relaxed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("candor.db")).unwrap();
    let level = |tx: &rusqlite::Transaction<'_>| -> anyhow::Result<i64> {
        Ok(tx.pragma_query_value(None, "synchronous", |r| r.get(0))?)
    };
    // 2 = FULL: an outbox row is on disk before the email it announces is sent.
    assert_eq!(store.call(level).await.unwrap(), 2);
    // 1 = NORMAL inside an ingest batch, which is fetched again if lost...
    assert_eq!(store.call_relaxed(level).await.unwrap(), 1);
    // ...and FULL again afterwards, also after a batch that failed.
    assert_eq!(store.call(level).await.unwrap(), 2);
    let failed: anyhow::Result<()> = store.call_relaxed(|_| anyhow::bail!("broken batch")).await;
    assert!(failed.is_err());
    assert_eq!(store.call(level).await.unwrap(), 2);
}

/// A daemon and `candor status` opening the same new store at once: SQLite answers some of the
/// locks taken while switching to WAL and migrating with "database is locked" without waiting,
/// which made a daemon started beside a polling test exit at start (seen in three tests).
/// Every process must open the store.
#[test]
fn processes_opening_a_new_store_together_all_succeed() {
    // No server is needed: `status` only reads the store.
    let config = crate::support::write_config(&[&|dir| {
        let password = dir.join("jane.password");
        std::fs::write(&password, "x").unwrap();
        std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
        format!(
            "[[account]]\nname = \"jane\"\nowner_name = \"Jane\"\n\
             owner_addresses = [\"jane@agency.example\"]\ntimezone = \"Europe/Berlin\"\n\
             mode = \"dry-run\"\n\n[account.imap]\nhost = \"127.0.0.1\"\nport = 1\n\
             tls = \"none\"\nusername = \"jane\"\npassword_file = \"{p}\"\n\n\
             [account.smtp]\nhost = \"127.0.0.1\"\nport = 1\ntls = \"none\"\n\
             username = \"jane\"\npassword_file = \"{p}\"\n",
            p = password.display()
        )
    }]);
    let store = config.path.with_file_name("candor.db");
    for round in 0..30 {
        let _ = std::fs::remove_file(&store);
        let _ = std::fs::remove_file(store.with_extension("db-wal"));
        let _ = std::fs::remove_file(store.with_extension("db-shm"));
        let children: Vec<_> = (0..6)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_candor"))
                    .arg("--config")
                    .arg(&config.path)
                    .arg("status")
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
