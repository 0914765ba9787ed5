//! The crash campaign (issue 9): `candor run` in `auto` mode, with follow-ups falling due and
//! mail arriving every ~100 ms, is killed with SIGKILL at random moments and at every named
//! failpoint, restarted each time, then left to finish; the audit compares the servers with the
//! store and each candidate's Inbox with the policy.

use std::os::unix::process::ExitStatusExt as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use candor::testkit::MailStack;
use jiff::Timestamp;
use rand::Rng as _;

use super::common::{self, Audit, Owner, OwnerPlan};

pub struct CrashParams {
    pub bin: PathBuf,
    pub candidates: usize,
    /// Candidates who answer at a random moment of the campaign.
    pub answering: usize,
    pub kills: usize,
    /// Each run lives a random time in `0..=max_life` before its SIGKILL.
    pub max_life: Duration,
    /// Follow-ups fall due over this span (a quarter are due at once).
    pub spread: Duration,
}

/// What the campaign tried and found.
#[derive(Debug, Default)]
pub struct CrashFindings {
    pub kills: usize,
    /// Kills that left a row `sending` (the send's outcome unknown).
    pub kills_mid_send: usize,
    /// Runs during which at least one email was sent.
    pub runs_that_sent: usize,
    /// Runs that exited before their kill (a finding).
    pub exited_early: Vec<String>,
    /// Failpoint → whether the run died there.
    pub failpoints: Vec<(String, bool)>,
    pub submitted: u64,
    pub refused: u64,
    pub answered: usize,
    pub finish: Duration,
    pub audit: Audit,
}

pub async fn crash_campaign(p: &CrashParams) -> anyhow::Result<CrashFindings> {
    let stack = Arc::new(MailStack::start()?);
    let plan = OwnerPlan {
        name: "jane",
        candidates: p.candidates,
        spread: p.spread,
        store_dir: None,
    };
    let owner = Owner::create(&stack, &p.bin, &plan)?;
    let others: Vec<_> = (0..3)
        .map(|i| stack.add_user(&format!("other{i}@client.example")))
        .collect::<anyhow::Result<_>>()?;
    let log = owner.config.with_file_name("daemon.log");
    let mut f = CrashFindings::default();

    // Half of the answering candidates are due early, half late: answers race the sends.
    let mut answering = Vec::new();
    for k in 0..p.answering {
        let i = if k % 2 == 0 {
            k / 2
        } else {
            p.candidates - 1 - k / 2
        };
        answering.push(owner.candidates[i].clone());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stream = common::spawn_stream(
        stack.clone(),
        owner.user.clone(),
        answering,
        others,
        0.15,
        stop.clone(),
    );

    // One run per failpoint first, while follow-ups are certainly due.
    for name in [
        candor::failpoint::AFTER_OUTBOX_COMMIT,
        candor::failpoint::AFTER_DATA_REPLY,
        candor::failpoint::BEFORE_APPEND,
    ] {
        let before = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let mut child = owner.spawn_daemon(Some(name), &log)?;
        let start = Instant::now();
        let mut hit = false;
        while start.elapsed() < Duration::from_secs(60) {
            if let Some(status) = child.try_wait()? {
                let text = std::fs::read(&log).unwrap_or_default();
                let tail = String::from_utf8_lossy(&text[before as usize..]);
                hit = status.signal() == Some(libc::SIGKILL)
                    && tail.contains(&format!("failpoint {name}"));
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !hit {
            let _ = child.kill();
            let _ = child.wait();
        }
        f.failpoints.push((name.to_owned(), hit));
    }

    for round in 0..p.kills {
        let sent_before = count(&owner, "sent");
        let life =
            Duration::from_millis(rand::rng().random_range(0..=p.max_life.as_millis() as u64));
        let mut child = owner.spawn_daemon(None, &log)?;
        tokio::time::sleep(life).await;
        if let Some(status) = child.try_wait()? {
            f.exited_early
                .push(format!("round {round}: {status:?} after {life:?}"));
        } else {
            child.kill().context("kill -9")?;
            child.wait()?;
        }
        f.kills += 1;
        let rows = owner.rows().unwrap_or_default();
        if rows.iter().any(|r| r.state == "sending") {
            f.kills_mid_send += 1;
        }
        if rows.iter().filter(|r| r.state == "sent").count() > sent_before {
            f.runs_that_sent += 1;
        }
    }

    // Let it finish: no more mail, one daemon until nothing is due and every message is stored.
    stop.store(true, Ordering::Relaxed);
    let streamed = stream.await.context("the mail stream task")?;
    f.submitted = streamed.submitted;
    f.refused = streamed.refused;
    f.answered = streamed.answers.len();
    common::drain(&stack, &owner.user, &owner.user).await?;
    let started = Instant::now();
    let mut daemon = owner.spawn_daemon(None, &log)?;
    let latest_due = owner.due.iter().max().copied().unwrap_or(Timestamp::now());
    let finished = common::wait_for(Duration::from_secs(300), async || {
        let Ok(rows) = owner.rows() else { return false };
        let Ok((stored, _)) = owner.stored() else {
            return false;
        };
        let Ok(inbox) = common::delivered(&stack, &owner.user, "INBOX").await else {
            return false;
        };
        Timestamp::now() > latest_due
            && !common::busy(&rows, Timestamp::now())
            && rows.iter().all(|r| r.state != "sent" || r.copied)
            && stored.get("INBOX").copied() == Some(inbox)
    })
    .await;
    f.finish = started.elapsed();
    // SAFETY: kill(2) on our own child, not yet waited for.
    unsafe { libc::kill(daemon.id() as libc::pid_t, libc::SIGTERM) };
    let status = daemon.wait()?;
    f.audit.check(
        "the final run finished (nothing due, all stored)",
        "yes".into(),
        if finished { "yes" } else { "no" }.into(),
        finished,
    );
    f.audit.check(
        "the final run stopped cleanly on SIGTERM",
        "exit 0".into(),
        format!("{status}"),
        status.success(),
    );
    common::audit(&stack, &owner, &streamed.answers, &mut f.audit).await?;
    Ok(f)
}

fn count(owner: &Owner, state: &str) -> usize {
    owner
        .rows()
        .map(|rows| rows.iter().filter(|r| r.state == state).count())
        .unwrap_or(0)
}

impl CrashFindings {
    pub fn print(&self, p: &CrashParams) {
        println!(
            "crash campaign: {} candidates ({} answering), follow-ups due over {:?}",
            p.candidates, p.answering, p.spread
        );
        println!("\nwhat it tried");
        println!(
            "  {:<50} {:>8}",
            "SIGKILLs at random moments (0..max life)", self.kills
        );
        println!(
            "  {:<50} {:>8}",
            "  of which left a row `sending` (mid-send)", self.kills_mid_send
        );
        println!(
            "  {:<50} {:>8}",
            "  runs that sent at least one email", self.runs_that_sent
        );
        println!(
            "  {:<50} {:>8}",
            "  runs that exited before their kill",
            self.exited_early.len()
        );
        for (name, hit) in &self.failpoints {
            println!(
                "  {:<50} {:>8}",
                format!("failpoint {name}"),
                if *hit { "hit" } else { "MISSED" }
            );
        }
        println!(
            "  {:<50} {:>8}",
            "messages submitted to the owner (~every 100 ms)", self.submitted
        );
        println!(
            "  {:<50} {:>8}",
            "  of which answers from candidates", self.answered
        );
        println!("  {:<50} {:>8}", "submissions refused", self.refused);
        println!(
            "  {:<50} {:>8.1?}",
            "final run until nothing due", self.finish
        );
        println!(
            "  {:<50} {:>8}",
            "automated emails received by candidates", self.audit.received
        );
        println!("  outbox rows by state: {:?}", self.audit.states);
        for e in &self.exited_early {
            println!("  exited early: {e}");
        }
        self.audit.print("what it found");
    }

    /// Violations, including a failpoint never reached and a run that stopped by itself.
    pub fn violations(&self) -> Vec<String> {
        let mut v = self.audit.violations.clone();
        v.extend(
            self.failpoints
                .iter()
                .filter(|(_, hit)| !hit)
                .map(|(n, _)| format!("failpoint {n} was not reached")),
        );
        v.extend(
            self.exited_early
                .iter()
                .map(|e| format!("the daemon exited by itself: {e}")),
        );
        v
    }
}
