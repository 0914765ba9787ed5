//! The outage campaign (issue 9): one `candor run` that is never restarted, while Dovecot and
//! Postfix are restarted at random moments (during the first big FETCH, while follow-ups are
//! being sent, while the daemon IDLEs), Postfix refuses some candidates with 421/451/550, and the
//! store's disk fills up and turns read-only; then the audit of `common`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use candor::testkit::{MailStack, SeedMessage};
use jiff::{SignedDuration, Timestamp};
use rand::Rng as _;
use rand::seq::SliceRandom as _;

use super::common::{self, Audit, Owner, OwnerPlan};

pub struct OutageParams {
    pub bin: PathBuf,
    pub candidates: usize,
    /// Restarts of each server.
    pub restarts: usize,
    /// Messages seeded in the owner's Inbox so that the first FETCH takes a while.
    pub big_inbox: usize,
    /// Random pause before each restart.
    pub max_gap: Duration,
    /// Wait for the 4xx retries to go out (their backoff is minutes), not only for what is due.
    pub wait_for_retries: bool,
    /// Run the full-disk and read-only phase.
    pub disk: bool,
}

impl OutageParams {
    pub fn full(bin: PathBuf, restarts: usize) -> OutageParams {
        OutageParams {
            bin,
            candidates: 30,
            restarts,
            big_inbox: 1000 * restarts,
            max_gap: Duration::from_millis(4000),
            wait_for_retries: true,
            disk: true,
        }
    }
}

/// Where the daemon was when a server went down.
#[derive(Debug, Default)]
pub struct Moments {
    pub mid_fetch: usize,
    pub mid_smtp: usize,
    pub idle: usize,
}

#[derive(Debug, Default)]
pub struct OutageFindings {
    pub dovecot: Moments,
    pub postfix: Moments,
    pub refused: Vec<(u16, String)>,
    pub submitted: u64,
    pub submissions_refused: u64,
    pub errors_seen: Vec<String>,
    pub daemon_exits: Vec<String>,
    pub finish: Duration,
    pub audit: Audit,
    pub disk: Vec<String>,
    pub disk_audit: Audit,
}

pub async fn outage_campaign(p: &OutageParams) -> anyhow::Result<OutageFindings> {
    let stack = Arc::new(MailStack::start()?);
    let mut f = OutageFindings::default();
    if p.restarts > 0 {
        servers_phase(&stack, p, &mut f).await?;
    }
    if p.disk {
        disk_phase(&stack, p, &mut f).await?;
    }
    Ok(f)
}

/// Server restarts and refusals while one daemon syncs and sends.
async fn servers_phase(
    stack: &Arc<MailStack>,
    p: &OutageParams,
    f: &mut OutageFindings,
) -> anyhow::Result<()> {
    let owner = Owner::create(
        stack,
        &p.bin,
        &OwnerPlan {
            name: "jane",
            candidates: p.candidates,
            spread: p.max_gap * (p.restarts as u32),
            store_dir: None,
        },
    )?;
    seed_big_inbox(stack, &owner, p.big_inbox)?;
    let codes = [
        (550, "5.1.1 mailbox unavailable"),
        (451, "4.3.0 try again later"),
        (421, "4.7.0 closing connection"),
    ];
    for (i, (code, text)) in codes.iter().enumerate() {
        let c = &owner.candidates[i];
        stack.refuse_recipient(&c.address, *code, text)?;
        f.refused.push((*code, c.address.clone()));
    }
    let others: Vec<_> = (0..3)
        .map(|i| stack.add_user(&format!("other{i}@client.example")))
        .collect::<anyhow::Result<_>>()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stream = common::spawn_stream(
        stack.clone(),
        owner.user.clone(),
        Vec::new(),
        others,
        0.0,
        stop.clone(),
    );
    let log = owner.config.with_file_name("daemon.log");
    let mut daemon = owner.spawn_daemon(None, &log)?;

    let mut events: Vec<bool> = (0..p.restarts).flat_map(|_| [true, false]).collect();
    events.shuffle(&mut rand::rng());
    for (n, dovecot) in events.iter().enumerate() {
        let gap = rand::rng().random_range(0..=p.max_gap.as_millis() as u64);
        tokio::time::sleep(Duration::from_millis(gap)).await;
        if n == events.len() / 3 {
            stack.clear_refusals()?;
        }
        let moment = moment(&owner, p.big_inbox);
        let tally = if *dovecot {
            &mut f.dovecot
        } else {
            &mut f.postfix
        };
        match moment {
            0 => tally.mid_fetch += 1,
            1 => tally.mid_smtp += 1,
            _ => tally.idle += 1,
        }
        if *dovecot {
            stack.restart_dovecot()?;
        } else {
            stack.restart_postfix()?;
        }
        note_error(&owner, &mut f.errors_seen);
        if let Some(status) = daemon.try_wait()? {
            f.daemon_exits.push(format!("after event {n}: {status}"));
            daemon = owner.spawn_daemon(None, &log)?;
        }
    }
    stack.clear_refusals()?;
    stop.store(true, Ordering::Relaxed);
    let streamed = stream.await.context("the mail stream task")?;
    f.submitted = streamed.submitted;
    f.submissions_refused = streamed.refused;
    common::drain(stack, &owner.user, &owner.user).await?;

    // Recovery without a restart: the same daemon catches up once the servers are back.
    let started = Instant::now();
    let latest_due = owner.due.iter().max().copied().unwrap_or(Timestamp::now());
    let deadline = if p.wait_for_retries { 900 } else { 120 };
    let finished = common::wait_for(Duration::from_secs(deadline), async || {
        let Ok(rows) = owner.rows() else { return false };
        let Ok(inbox) = common::delivered(stack, &owner.user, "INBOX").await else {
            return false;
        };
        let retries_done = !p.wait_for_retries || rows.iter().all(|r| r.state != "queued");
        Timestamp::now() > latest_due
            && retries_done
            && !common::busy(&rows, Timestamp::now())
            && rows.iter().all(|r| r.state != "sent" || r.copied)
            && owner.located("INBOX").ok() == Some(inbox)
    })
    .await;
    f.finish = started.elapsed();
    let alive = daemon.try_wait()?.is_none();
    let status = stop_daemon(daemon)?;
    f.audit.check(
        "the daemon ran throughout (never exited)",
        "0 exits".into(),
        format!("{} exits", f.daemon_exits.len()),
        f.daemon_exits.is_empty() && alive,
    );
    f.audit.check(
        "caught up after the outages without a restart",
        "yes".into(),
        if finished { "yes" } else { "no" }.into(),
        finished,
    );
    f.audit.check(
        "stopped cleanly on SIGTERM",
        "exit 0".into(),
        status.to_string(),
        status.success(),
    );
    refusal_checks(&owner, &f.refused, p.wait_for_retries, &mut f.audit)?;
    common::audit(stack, &owner, &streamed.answers, &mut f.audit).await
}

/// 0: the first FETCH is still running; 1: sends are pending; 2: otherwise (IDLE).
fn moment(owner: &Owner, big: usize) -> u8 {
    let stored = owner
        .stored()
        .ok()
        .and_then(|(s, _)| s.get("INBOX").copied())
        .unwrap_or(0);
    if stored < big as u64 {
        return 0;
    }
    let now = Timestamp::now();
    let rows = owner.rows().unwrap_or_default();
    let unsent_due = owner
        .candidates
        .iter()
        .zip(&owner.due)
        .any(|(c, due)| *due <= now && !rows.iter().any(|r| r.candidate == c.address));
    if common::busy(&rows, now) || unsent_due {
        1
    } else {
        2
    }
}

fn note_error(owner: &Owner, seen: &mut Vec<String>) {
    if let Ok((_, Some(error))) = owner.stored() {
        let short: String = error.chars().take(110).collect();
        if !seen.contains(&short) {
            seen.push(short);
        }
    }
}

fn stop_daemon(daemon: Child) -> anyhow::Result<std::process::ExitStatus> {
    let mut daemon = daemon;
    // SAFETY: kill(2) on our own child, not yet waited for.
    unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    Ok(daemon.wait()?)
}

fn seed_big_inbox(stack: &MailStack, owner: &Owner, n: usize) -> anyhow::Result<()> {
    let start = Timestamp::now() - SignedDuration::from_hours(24 * 30);
    let messages: Vec<SeedMessage> = (0..n)
        .map(|i| {
            let at = start + SignedDuration::from_secs(i as i64 * 60);
            let extra = "List-Id: <news.lists.example>\r\nPrecedence: bulk\r\n";
            SeedMessage {
                raw: common::message(
                    "News <news@lists.example>",
                    &owner.user.address,
                    &format!("Issue {i}"),
                    &format!("big-{i}@lists.example"),
                    at,
                    extra,
                ),
                internal_date: at,
                flags: "S".to_owned(),
            }
        })
        .collect();
    stack.seed(&owner.user, "INBOX", &messages)
}

/// 550: failed, never retried, nothing received; 451/421: retried, sent once (when waited for).
fn refusal_checks(
    owner: &Owner,
    refused: &[(u16, String)],
    waited: bool,
    audit: &mut Audit,
) -> anyhow::Result<()> {
    let rows = owner.rows()?;
    for (code, address) in refused {
        let mine: Vec<_> = rows.iter().filter(|r| &r.candidate == address).collect();
        let states: Vec<&str> = mine.iter().map(|r| r.state.as_str()).collect();
        let (expected, ok) = match (code, waited) {
            // A try that met a restarting Postfix never saw the 550 (retried, then sent once
            // the refusal was lifted); a 550 that was seen must end the row for good.
            (550, _) => (
                "failed if 550 seen",
                mine.iter()
                    .all(|r| !r.last_error.contains("550") || r.state == "failed"),
            ),
            (_, true) => ("sent", states == ["sent"] && mine[0].attempts >= 2),
            (_, false) => ("queued|sent", states == ["queued"] || states == ["sent"]),
        };
        let attempts: Vec<i64> = mine.iter().map(|r| r.attempts).collect();
        audit.check(
            &format!("{code} for {address}"),
            expected.into(),
            format!("{states:?} {attempts:?}"),
            ok,
        );
    }
    Ok(())
}

/// The store on a small tmpfs: filled up, then remounted read-only, while the daemon runs.
async fn disk_phase(
    stack: &Arc<MailStack>,
    p: &OutageParams,
    f: &mut OutageFindings,
) -> anyhow::Result<()> {
    let mount = tempfile::Builder::new().prefix("candor-disk-").tempdir()?;
    let dir = mount.path().to_path_buf();
    if !sh(&[
        "mount",
        "-t",
        "tmpfs",
        "-o",
        "size=4m",
        "tmpfs",
        &dir.to_string_lossy(),
    ]) {
        f.disk
            .push("mount -t tmpfs refused: disk phase skipped".into());
        return Ok(());
    }
    let result = disk_steps(stack, p, f, &dir).await;
    let _ = sh(&["umount", "-l", &dir.to_string_lossy()]);
    result?;
    readonly_phase(stack, p, f).await
}

/// The store on a small ext4 image mounted `errors=remount-ro`, turned read-only under the running
/// daemon the way a failing disk does it (ext4's `trigger_fs_error`). A tmpfs cannot be remounted
/// read-only while the daemon holds the database open for writing ("mount point is busy"), and
/// an ext4 that went read-only after an error stays so until it is unmounted and checked: the
/// daemon must keep running with a clear error, send nothing, stop on SIGTERM, refuse to start on
/// the read-only disk, and catch up without loss or duplicate once the disk is back.
async fn readonly_phase(
    stack: &Arc<MailStack>,
    p: &OutageParams,
    f: &mut OutageFindings,
) -> anyhow::Result<()> {
    let work = tempfile::Builder::new().prefix("candor-ro-").tempdir()?;
    let image = work.path().join("store.ext4");
    let dir = work.path().join("mnt");
    std::fs::create_dir(&dir)?;
    let image_s = image.to_string_lossy().into_owned();
    let dir_s = dir.to_string_lossy().into_owned();
    let made = sh(&["truncate", "-s", "32M", &image_s])
        && sh(&["mkfs.ext4", "-q", "-F", &image_s])
        && sh(&["mount", "-o", "loop,errors=remount-ro", &image_s, &dir_s]);
    if !made {
        f.disk
            .push("ext4 loop mount refused: read-only phase skipped".into());
        return Ok(());
    }
    let result = readonly_steps(stack, p, f, &image_s, &dir_s).await;
    let _ = sh(&["umount", "-l", &dir_s]);
    result
}

async fn readonly_steps(
    stack: &Arc<MailStack>,
    p: &OutageParams,
    f: &mut OutageFindings,
    image: &str,
    dir: &str,
) -> anyhow::Result<()> {
    let (owner, log, mut daemon, synced) =
        owner_on_disk(stack, p, ("kate", Duration::from_secs(60)), Path::new(dir)).await?;
    f.disk.push(format!(
        "store on a 32 MB ext4 image (errors=remount-ro); first sync done: {synced}"
    ));

    // The disk fails: ext4 records an error and turns the file system read-only at once.
    let device = command_output(&["findmnt", "-n", "-o", "SOURCE", dir]);
    let device = device
        .trim()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let before = log_len(&log);
    let rows_before = owner.rows().unwrap_or_default();
    let sent_before = rows_before.len();
    let sent_at_trigger = common::delivered(stack, &owner.user, "Sent").await.ok();
    let tripped = std::fs::write(
        format!("/sys/fs/ext4/{device}/trigger_fs_error"),
        "candor outage campaign",
    )
    .is_ok();
    let probe = std::fs::write(Path::new(dir).join("probe"), b"x");
    f.disk.push(format!(
        "ext4 error triggered on {device}: {tripped}; a new file on it now fails with: {}",
        probe
            .err()
            .map(|e| e.to_string())
            .unwrap_or("NOTHING (still writable)".into())
    ));
    let n = submit_padded(stack, &owner, 20, 1024).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    let ro_error = log_lines(&log, before, &["read-only", "readonly", "read only"]);
    let alive = daemon.try_wait()?.is_none();
    let sent_while_ro = common::delivered(stack, &owner.user, "Sent").await.ok();
    f.disk.push(format!(
        "{n} messages delivered while read-only; error logged: {}",
        ro_error
            .clone()
            .or_else(
                || log_lines(&log, before, &["error", "warn"]).map(|l| format!("(not clear) {l}"))
            )
            .as_deref()
            .unwrap_or("NONE")
    ));
    check_error_and_alive(f, "read-only", ro_error.is_some(), alive);
    f.disk.push(format!(
        "outbox rows before the error: {sent_before}; emails in the owner's Sent: {sent_at_trigger:?} at the error, {sent_while_ro:?} 20 s later"
    ));
    if !synced || !alive || ro_error.is_none() {
        f.disk
            .push(format!("the daemon's last words:\n{}", log_tail(&log, 8)));
    }
    let status = stop_daemon(daemon)?;
    f.disk_audit.check(
        "stops on SIGTERM while the disk is read-only",
        "exited".into(),
        status.to_string(),
        true,
    );

    // Started on the read-only disk: a clear error and a non-zero exit, not a hang.
    let start_log = owner.config.with_file_name("start-ro.log");
    let mut again = owner.spawn_daemon(None, &start_log)?;
    let exited = common::wait_for(Duration::from_secs(30), async || {
        again.try_wait().ok().flatten().is_some()
    })
    .await;
    let start_status = if exited {
        again.wait()?.to_string()
    } else {
        let _ = again.kill();
        let _ = again.wait();
        "still running after 30 s".to_string()
    };
    let start_error = log_lines(&start_log, 0, &["read-only", "readonly", "read only"]);
    if start_error.is_none() {
        f.disk
            .push(format!("the start's words:\n{}", log_tail(&start_log, 5)));
    }
    f.disk.push(format!(
        "started on the read-only disk: {start_status}; said: {}",
        start_error.as_deref().unwrap_or("NONE")
    ));
    f.disk_audit.check(
        "refuses to start on a read-only disk, saying why",
        "non-zero exit, read-only named".into(),
        format!("{start_status}, named: {}", start_error.is_some()),
        exited && !start_status.contains("exit status: 0") && start_error.is_some(),
    );

    // The operator's repair: unmount, check, mount again, start the daemon.
    let repaired = sh(&["umount", dir])
        && {
            // What the check did to the journal: committed transactions it drops are commits
            // the store made durable and loses.
            let fsck = command_output(&["sh", "-c", &format!("e2fsck -f -y {image} 2>&1")]);
            let journal: Vec<&str> = fsck
                .lines()
                .filter(|l| l.to_lowercase().contains("journal"))
                .collect();
            f.disk.push(format!("e2fsck on the journal: {journal:?}"));
            true
        }
        && sh(&["mount", "-o", "loop,errors=remount-ro", image, dir]);
    f.disk
        .push(format!("unmounted, e2fsck, mounted again: {repaired}"));
    // Outbox rows as the error found them and as the repair left them: a row that went back to
    // an earlier state is a commit lost with the disk.
    let states = |rows: &[candor::store::outbox::OutboxRow]| -> Vec<(i64, String)> {
        rows.iter().map(|r| (r.id, r.state.clone())).collect()
    };
    f.disk.push(format!(
        "outbox rows at the error: {:?}; after the repair: {:?}",
        states(&rows_before),
        states(&owner.rows().unwrap_or_default())
    ));
    let integrity = owner
        .json(&["status", "--json"])
        .map(|_| "readable")
        .unwrap_or("NOT readable");
    f.disk.push(format!("store after the repair: {integrity}"));
    let daemon = owner.spawn_daemon(None, &log)?;
    let recovered = caught_up(stack, &owner, Duration::from_secs(180)).await;
    f.disk_audit.check(
        "catches up after the repair and a restart",
        "yes".into(),
        if recovered { "yes" } else { "no" }.into(),
        recovered,
    );
    let status = stop_daemon(daemon)?;
    f.disk_audit.check(
        "stopped cleanly on SIGTERM after the repair",
        "exit 0".into(),
        status.to_string(),
        status.success(),
    );
    common::audit(stack, &owner, &Default::default(), &mut f.disk_audit).await
}

fn command_output(args: &[&str]) -> String {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

async fn disk_steps(
    stack: &Arc<MailStack>,
    p: &OutageParams,
    f: &mut OutageFindings,
    dir: &Path,
) -> anyhow::Result<()> {
    let (owner, log, mut daemon, synced) =
        owner_on_disk(stack, p, ("jill", Duration::from_secs(40)), dir).await?;
    f.disk
        .push(format!("store on a 4 MB tmpfs; first sync done: {synced}"));

    // Full: a filler takes every free byte, then mail keeps arriving and follow-ups fall due.
    let filler = dir.join("filler");
    let filled = sh(&[
        "sh",
        "-c",
        &format!(
            "dd if=/dev/zero of={} bs=64k 2>/dev/null; sync",
            filler.display()
        ),
    ]);
    let sent_before = owner.rows().map(|r| r.len()).unwrap_or(0);
    let before = log_len(&log);
    let big = submit_padded(stack, &owner, 150, 16 * 1024).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    let full_error = log_lines(&log, before, &["full", "disk", "space"]);
    let alive = daemon.try_wait()?.is_none();
    f.disk.push(format!("disk filled (dd ended: {filled}); {big} messages of 16 KB delivered; rows before: {sent_before}"));
    f.disk.push(format!(
        "error logged while full: {}",
        full_error.as_deref().unwrap_or("NONE")
    ));
    check_error_and_alive(f, "full", full_error.is_some(), alive);
    std::fs::remove_file(&filler)?;
    let recovered = caught_up(stack, &owner, Duration::from_secs(120)).await;
    f.disk_audit.check(
        "recovers once space is freed (no restart)",
        "yes".into(),
        if recovered { "yes" } else { "no" }.into(),
        recovered,
    );
    if daemon.try_wait()?.is_some() || !recovered {
        f.disk
            .push("restarted the daemon after the full disk".into());
        let _ = daemon.kill();
        let _ = daemon.wait();
        daemon = owner.spawn_daemon(None, &log)?;
    }

    let status = stop_daemon(daemon)?;
    f.disk_audit.check(
        "stopped cleanly on SIGTERM",
        "exit 0".into(),
        status.to_string(),
        status.success(),
    );
    common::audit(stack, &owner, &Default::default(), &mut f.disk_audit).await
}

/// An owner with 8 candidates whose store lives in `dir`, its daemon started, and whether its
/// first sync (the 8 seeded questions in Sent) was stored within 60 s.
async fn owner_on_disk(
    stack: &MailStack,
    p: &OutageParams,
    (name, spread): (&str, Duration),
    dir: &Path,
) -> anyhow::Result<(Owner, PathBuf, Child, bool)> {
    let owner = Owner::create(
        stack,
        &p.bin,
        &OwnerPlan {
            name,
            candidates: 8,
            spread,
            store_dir: Some(dir),
        },
    )?;
    let log = owner.config.with_file_name("daemon.log");
    let daemon = owner.spawn_daemon(None, &log)?;
    let synced = common::wait_for(Duration::from_secs(60), async || {
        owner
            .stored()
            .is_ok_and(|(s, _)| s.get("Sent").copied() == Some(8))
    })
    .await;
    Ok((owner, log, daemon, synced))
}

/// The two checks of a bad disk: a clear error was logged, and the daemon is still running.
fn check_error_and_alive(f: &mut OutageFindings, disk: &str, error: bool, alive: bool) {
    f.disk_audit.check(
        &format!("a clear error while the disk is {disk}"),
        "logged".into(),
        if error { "logged" } else { "none" }.into(),
        error,
    );
    f.disk_audit.check(
        &format!("the daemon keeps running on a {disk} disk"),
        "running".into(),
        if alive { "running" } else { "exited" }.into(),
        alive,
    );
}

async fn caught_up(stack: &MailStack, owner: &Owner, deadline: Duration) -> bool {
    let latest_due = owner.due.iter().max().copied().unwrap_or(Timestamp::now());
    common::wait_for(deadline, async || {
        let Ok(rows) = owner.rows() else {
            return false;
        };
        let Ok(inbox) = common::delivered(stack, &owner.user, "INBOX").await else {
            return false;
        };
        Timestamp::now() > latest_due
            && !common::busy(&rows, Timestamp::now())
            && rows.iter().all(|r| r.state != "sent" || r.copied)
            && owner.located("INBOX").ok() == Some(inbox)
    })
    .await
}

async fn submit_padded(stack: &MailStack, owner: &Owner, n: usize, size: usize) -> usize {
    let mut ok = 0;
    let pad = "x".repeat(76);
    for i in 0..n {
        let mut raw = common::message(
            &owner.user.address,
            &owner.user.address,
            &format!("Padded {i}"),
            &format!("pad-{i}-{}@agency.example", rand::rng().random::<u32>()),
            Timestamp::now(),
            "",
        );
        for _ in 0..size / 78 {
            raw.extend_from_slice(pad.as_bytes());
            raw.extend_from_slice(b"\r\n");
        }
        if stack
            .submit(
                &owner.user,
                &owner.user.address,
                &[&owner.user.address],
                &raw,
            )
            .await
            .is_ok()
        {
            ok += 1;
        }
    }
    ok
}

fn sh(args: &[&str]) -> bool {
    Command::new(args[0])
        .args(&args[1..])
        .status()
        .is_ok_and(|s| s.success())
}

fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// The last `n` lines of a log, indented.
fn log_tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {}", l.chars().take(300).collect::<String>()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first line logged since `from` that mentions one of `words`.
fn log_lines(log: &Path, from: u64, words: &[&str]) -> Option<String> {
    let bytes = std::fs::read(log).ok()?;
    let text = String::from_utf8_lossy(bytes.get(from as usize..)?).into_owned();
    text.lines()
        .find(|l| words.iter().any(|w| l.to_lowercase().contains(w)))
        .map(|l| l.chars().take(200).collect())
}

impl OutageFindings {
    pub fn print(&self, p: &OutageParams) {
        println!(
            "outage campaign: {} candidates, {} messages seeded in the Inbox, {} restarts of each server",
            p.candidates, p.big_inbox, p.restarts
        );
        println!("\nwhat it tried");
        for (name, m) in [("Dovecot", &self.dovecot), ("Postfix", &self.postfix)] {
            println!(
                "  {name} restarts: {} during the first FETCH, {} while sends were pending, {} while idle (IDLE)",
                m.mid_fetch, m.mid_smtp, m.idle
            );
        }
        for (code, address) in &self.refused {
            println!("  Postfix answers {code} at RCPT for {address}");
        }
        println!(
            "  messages submitted to the owner: {} ({} refused while Postfix was down)",
            self.submitted, self.submissions_refused
        );
        println!("  catch-up after the last restart: {:.1?}", self.finish);
        println!(
            "  automated emails received by candidates: {}",
            self.audit.received
        );
        println!("  outbox rows by state: {:?}", self.audit.states);
        println!("  errors the account recorded (stats last_error):");
        for e in &self.errors_seen {
            println!("    - {e}");
        }
        self.audit.print("what it found (servers)");
        if p.disk {
            println!("\nstore disk");
            for line in &self.disk {
                println!("  {line}");
            }
            println!("  outbox rows by state: {:?}", self.disk_audit.states);
            self.disk_audit.print("what it found (disk)");
        }
    }

    pub fn violations(&self) -> Vec<String> {
        let mut v = self.audit.violations.clone();
        v.extend(self.disk_audit.violations.iter().cloned());
        v
    }
}
