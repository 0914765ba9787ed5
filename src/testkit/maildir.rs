//! Maildir++ on disk: user homes, folders, subscriptions and fast seeding with chosen dates.
//!
//! Seeding writes files straight into `cur/` with mtime = internal date (Dovecot reports the
//! mtime as INTERNALDATE); 100k messages take a few seconds. Dovecot assigns UIDs to new files
//! sorted by the time stamp at the start of their names, so names carry a counter that rises
//! with the seeding order, and UIDs follow the order of the `messages` slice.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};

use super::SeedMessage;
use super::process::chown;

/// `Maildir` under a user's home.
pub fn maildir_root(mail_dir: &Path, username: &str) -> PathBuf {
    mail_dir.join(username).join("Maildir")
}

/// The directory of `folder`: INBOX is the root, others are `.Name` (Maildir++, `/` → `.`).
pub fn folder_dir(root: &Path, folder: &str) -> anyhow::Result<PathBuf> {
    if folder.eq_ignore_ascii_case("INBOX") {
        return Ok(root.to_path_buf());
    }
    let valid = !folder.is_empty()
        && !folder.starts_with(['.', '/'])
        && !folder.ends_with(['.', '/'])
        && !folder.contains("..")
        && !folder.contains("//")
        && !folder.contains(|c: char| c.is_control() || c == '\\' || c == '~' || !c.is_ascii());
    if !valid {
        bail!("unsupported folder name {folder:?} (ASCII names, `/` or `.` as separator)");
    }
    Ok(root.join(format!(".{}", folder.replace('/', "."))))
}

/// Creates the home and Maildir of a user, owned by vmail.
pub fn create_home(mail_dir: &Path, username: &str, vmail: (u32, u32)) -> anyhow::Result<()> {
    if username.contains('/') || username.starts_with('.') || username.is_empty() {
        bail!("unsupported user name {username:?}");
    }
    let home = mail_dir.join(username);
    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    chown(&home, vmail)?;
    ensure_folder(&maildir_root(mail_dir, username), "INBOX", vmail)?;
    Ok(())
}

/// Makes `folder` exist (`cur`, `new`, `tmp`, `maildirfolder`) and be subscribed.
pub fn ensure_folder(root: &Path, folder: &str, vmail: (u32, u32)) -> anyhow::Result<PathBuf> {
    let path = folder_dir(root, folder)?;
    for sub in [
        root.to_path_buf(),
        path.clone(),
        path.join("cur"),
        path.join("new"),
        path.join("tmp"),
    ] {
        if !sub.exists() {
            std::fs::create_dir_all(&sub).with_context(|| format!("creating {}", sub.display()))?;
            chown(&sub, vmail)?;
        }
    }
    if path != root {
        let marker = path.join("maildirfolder");
        if !marker.exists() {
            File::create(&marker).with_context(|| format!("creating {}", marker.display()))?;
            chown(&marker, vmail)?;
        }
        subscribe(root, folder, vmail)?;
    }
    Ok(path)
}

/// Removes `folder` with its messages and its subscription; INBOX cannot be deleted.
pub fn delete_folder(root: &Path, folder: &str) -> anyhow::Result<()> {
    let path = folder_dir(root, folder)?;
    if path == root {
        bail!("INBOX cannot be deleted");
    }
    if !path.exists() {
        bail!("folder {folder:?} does not exist");
    }
    std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
    let file = root.join("subscriptions");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let (header, names) = split_subscriptions(&text);
        let kept: Vec<&str> = names
            .into_iter()
            .filter(|name| subscription_name(name) != folder)
            .collect();
        let body: String = kept.iter().map(|name| format!("{name}\n")).collect();
        std::fs::write(&file, format!("{header}{body}"))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    Ok(())
}

/// Adds `folder` to Dovecot's `subscriptions` file. Dovecot 2.3 writes version 2 (`V\t2` header,
/// hierarchy separated by TAB) and still reads the old one name per line; we append in the
/// file's own format.
fn subscribe(root: &Path, folder: &str, vmail: (u32, u32)) -> anyhow::Result<()> {
    let file = root.join("subscriptions");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let (header, names) = split_subscriptions(&text);
    if names.iter().any(|name| subscription_name(name) == folder) {
        return Ok(());
    }
    let line = if header.is_empty() {
        folder.replace('/', ".")
    } else {
        folder.replace('/', "\t")
    };
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .with_context(|| format!("opening {}", file.display()))?;
    let separator = if text.is_empty() || text.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    writeln!(out, "{separator}{line}").with_context(|| format!("writing {}", file.display()))?;
    chown(&file, vmail)
}

fn split_subscriptions(text: &str) -> (&str, Vec<&str>) {
    let (header, rest) = match text.strip_prefix("V\t") {
        Some(_) => match text.find("\n\n") {
            Some(end) => text.split_at(end + 2),
            None => (text, ""),
        },
        None => ("", text),
    };
    (
        header,
        rest.lines().filter(|line| !line.is_empty()).collect(),
    )
}

fn subscription_name(line: &str) -> String {
    line.replace(['\t', '.'], "/")
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Writes `messages` into `folder` as Maildir files in `cur/` dated by their internal dates.
pub fn seed(
    root: &Path,
    folder: &str,
    messages: &[SeedMessage],
    vmail: (u32, u32),
) -> anyhow::Result<()> {
    let path = ensure_folder(root, folder, vmail)?;
    let cur = path.join("cur");
    let base = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .context("system clock before 1970")?
        .as_secs();
    let pid = std::process::id();
    for message in messages {
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let flags = maildir_flags(&message.flags)?;
        // Seconds and microseconds both rise with the sequence: Dovecot sorts by them.
        let name = format!(
            "{}.M{}P{pid}Q{sequence}.candor,S={}:2,{flags}",
            base + sequence / 1_000_000,
            sequence % 1_000_000,
            message.raw.len()
        );
        let file_path = cur.join(&name);
        let mut file = File::create(&file_path)
            .with_context(|| format!("creating {}", file_path.display()))?;
        file.write_all(&message.raw)
            .with_context(|| format!("writing {}", file_path.display()))?;
        file.set_modified(system_time(message.internal_date)?)
            .with_context(|| format!("setting the mtime of {}", file_path.display()))?;
        drop(file);
        chown(&file_path, vmail)?;
    }
    Ok(())
}

/// One folder copied by [`copy_tree`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopiedFolder {
    pub folder: String,
    pub messages: usize,
    pub bytes: u64,
}

/// Copies a Maildir++ tree (INBOX = the root's `cur`/`new`, other folders `.Name`, `.` as the
/// hierarchy separator) into the Maildir at `root`: folders are created and subscribed, each
/// message file keeps its name and its mtime (= INTERNALDATE) and is owned by vmail. Files are
/// copied on a few threads because 100k small files are bound by syscalls, not by bandwidth.
pub fn copy_tree(from: &Path, root: &Path, vmail: (u32, u32)) -> anyhow::Result<Vec<CopiedFolder>> {
    let mut folders = std::collections::BTreeMap::new();
    if from.join("cur").is_dir() || from.join("new").is_dir() {
        folders.insert("INBOX".to_owned(), from.to_path_buf());
    }
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(folder) = name.strip_prefix('.')
            && !folder.is_empty()
            && entry.file_type()?.is_dir()
        {
            folders.insert(folder.replace('.', "/"), entry.path());
        }
    }
    if folders.is_empty() {
        bail!(
            "{} holds no Maildir folder (no cur/, new/ or .Name/)",
            from.display()
        );
    }
    let mut copied = Vec::new();
    for (folder, source) in folders {
        let target = ensure_folder(root, &folder, vmail)?;
        let mut jobs = Vec::new();
        for sub in ["cur", "new"] {
            let dir = source.join(sub);
            if !dir.is_dir() {
                continue;
            }
            for entry in
                std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
            {
                let entry = entry?;
                if entry.file_type()?.is_file() {
                    jobs.push((entry.path(), target.join(sub).join(entry.file_name())));
                }
            }
        }
        let messages = jobs.len();
        let bytes = copy_files(&jobs, vmail).with_context(|| format!("copying {folder}"))?;
        copied.push(CopiedFolder {
            folder,
            messages,
            bytes,
        });
    }
    Ok(copied)
}

/// Copies `(source, target)` files on up to four threads, keeping mtimes; returns the bytes.
fn copy_files(jobs: &[(PathBuf, PathBuf)], vmail: (u32, u32)) -> anyhow::Result<u64> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 4);
    let chunk = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter().try_fold(0, |sum, (from, to)| {
                        copy_one(from, to, vmail).map(|n| sum + n)
                    })
                })
            })
            .collect();
        let mut total = 0;
        for worker in workers {
            total += worker
                .join()
                .map_err(|_| anyhow::anyhow!("a copy thread panicked"))??;
        }
        Ok(total)
    })
}

fn copy_one(from: &Path, to: &Path, vmail: (u32, u32)) -> anyhow::Result<u64> {
    let mut source = File::open(from).with_context(|| format!("opening {}", from.display()))?;
    let modified = source
        .metadata()
        .and_then(|m| m.modified())
        .with_context(|| format!("reading the mtime of {}", from.display()))?;
    let mut target = File::create(to).with_context(|| format!("creating {}", to.display()))?;
    let bytes = std::io::copy(&mut source, &mut target)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    target
        .set_modified(modified)
        .with_context(|| format!("setting the mtime of {}", to.display()))?;
    std::os::unix::fs::fchown(&target, Some(vmail.0), Some(vmail.1))
        .with_context(|| format!("chown {}", to.display()))?;
    Ok(bytes)
}

/// Maildir info flags, sorted and deduplicated as the Maildir spec asks (`S`, `RS`, ...).
fn maildir_flags(flags: &str) -> anyhow::Result<String> {
    let mut chars: Vec<char> = flags.chars().collect();
    if let Some(bad) = chars
        .iter()
        .find(|c| !matches!(c, 'D' | 'F' | 'P' | 'R' | 'S' | 'T'))
    {
        bail!("unsupported maildir flag {bad:?} in {flags:?} (use D, F, P, R, S, T)");
    }
    chars.sort_unstable();
    chars.dedup();
    Ok(chars.into_iter().collect())
}

fn system_time(timestamp: jiff::Timestamp) -> anyhow::Result<SystemTime> {
    let seconds = u64::try_from(timestamp.as_second())
        .with_context(|| format!("internal date {timestamp} is before 1970"))?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_dirs_follow_maildir_plus_plus() {
        let root = Path::new("/m/Maildir");
        assert_eq!(folder_dir(root, "INBOX").unwrap(), root);
        assert_eq!(folder_dir(root, "Sent").unwrap(), root.join(".Sent"));
        assert_eq!(
            folder_dir(root, "Clients/Acme").unwrap(),
            root.join(".Clients.Acme")
        );
        assert!(folder_dir(root, "../etc").is_err());
        assert!(folder_dir(root, "").is_err());
    }

    #[test]
    fn maildir_flags_are_sorted_and_checked() {
        assert_eq!(maildir_flags("SR").unwrap(), "RS");
        assert_eq!(maildir_flags("").unwrap(), "");
        assert!(maildir_flags("x").is_err());
    }

    #[test]
    fn copy_tree_keeps_folders_names_and_mtimes() {
        use std::os::unix::fs::MetadataExt as _;
        let source = tempfile::tempdir().unwrap();
        // Our own ids: chown to oneself needs no privilege.
        let meta = std::fs::metadata(source.path()).unwrap();
        let ids = (meta.uid(), meta.gid());
        let target = tempfile::tempdir().unwrap();
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_732_607);
        for (dir, name) in [
            ("cur", "1.M1P1.x:2,S"),
            (".Sent/cur", "2.M2P1.x:2,S"),
            (".Clients.Acme/new", "3.M3P1.x"),
        ] {
            let dir = source.path().join(dir);
            std::fs::create_dir_all(&dir).unwrap();
            let file = File::create(dir.join(name)).unwrap();
            (&file).write_all(b"Subject: x\r\n\r\nbody\r\n").unwrap();
            file.set_modified(when).unwrap();
        }
        let root = target.path().join("Maildir");
        let copied = copy_tree(source.path(), &root, ids).unwrap();
        let names: Vec<(&str, usize)> = copied
            .iter()
            .map(|c| (c.folder.as_str(), c.messages))
            .collect();
        assert_eq!(names, vec![("Clients/Acme", 1), ("INBOX", 1), ("Sent", 1)]);
        let sent = root.join(".Sent/cur/2.M2P1.x:2,S");
        assert_eq!(std::fs::metadata(&sent).unwrap().modified().unwrap(), when);
        assert!(root.join(".Clients.Acme/new/3.M3P1.x").is_file());
        assert!(root.join(".Clients.Acme/maildirfolder").is_file());
        let subscriptions = std::fs::read_to_string(root.join("subscriptions")).unwrap();
        assert!(subscriptions.contains("Sent") && subscriptions.contains("Clients.Acme"));
        assert!(copy_tree(target.path().join("nothing").as_path(), &root, ids).is_err());
    }

    #[test]
    fn subscriptions_parse_in_both_formats() {
        let (header, names) = split_subscriptions("V\t2\n\nSent\nA\tB\n");
        assert_eq!(header, "V\t2\n\n");
        assert_eq!(names, vec!["Sent", "A\tB"]);
        let (header, names) = split_subscriptions("Sent\nArchive\n");
        assert_eq!(header, "");
        assert_eq!(names, vec!["Sent", "Archive"]);
    }
}
