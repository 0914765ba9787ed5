//! The small versions of the crash and outage campaigns (issue 9; the full ones are
//! `campaigns/crash.sh` and `campaigns/outage.sh`, figures in RELIABILITY.md): the same driver
//! code, with 10 kills and 3 restarts of each server, and its audit must find no violation.

#[path = "../../examples/campaigns/common.rs"]
mod common;
#[path = "../../examples/campaigns/crash.rs"]
mod crash;
#[path = "../../examples/campaigns/outage.rs"]
mod outage;

use std::path::PathBuf;
use std::time::Duration;

use candor::testkit::MailStack;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_candor"))
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_campaign_ten_kills_and_every_failpoint_never_twice_nothing_lost() {
    let p = crash::CrashParams {
        bin: bin(),
        candidates: 12,
        answering: 4,
        kills: 10,
        max_life: Duration::from_millis(2500),
        spread: Duration::from_secs(12),
    };
    let f = crash::crash_campaign(&p).await.unwrap();
    f.print(&p);
    assert_eq!(f.kills, 10);
    assert_eq!(f.failpoints.len(), 3);
    assert!(f.audit.received > 0, "some follow-ups went out");
    assert_eq!(f.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn outage_campaign_three_restarts_of_each_server_and_refusals_recovers_without_restart() {
    let p = outage::OutageParams {
        candidates: 10,
        big_inbox: 3000,
        max_gap: Duration::from_millis(2500),
        wait_for_retries: false,
        disk: false,
        ..outage::OutageParams::full(bin(), 3)
    };
    let f = outage::outage_campaign(&p).await.unwrap();
    f.print(&p);
    assert_eq!(f.dovecot.mid_fetch + f.dovecot.mid_smtp + f.dovecot.idle, 3);
    assert_eq!(f.postfix.mid_fetch + f.postfix.mid_smtp + f.postfix.idle, 3);
    assert_eq!(f.violations(), Vec::<String>::new());
}

/// Regression (outage campaign): async-imap restarts its IDLE timeout at every untagged OK and
/// Dovecot sends `* OK Still here` every `imap_idle_notify_interval` (2 minutes by default), so
/// on a quiet Inbox the daemon never woke for a follow-up due later than that. Here the
/// keepalive is 1 s and the second follow-up falls due 8 s after the start.
#[tokio::test(flavor = "multi_thread")]
async fn idle_outlasting_the_servers_keepalive_still_wakes_for_a_due_follow_up() {
    let stack = MailStack::start().unwrap();
    let conf = stack.dir().join("dovecot/dovecot.conf");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text.push_str("\nimap_idle_notify_interval = 1 secs\n");
    std::fs::write(&conf, text).unwrap();
    stack.restart_dovecot().unwrap();
    let plan = common::OwnerPlan {
        name: "jane",
        candidates: 2,
        spread: Duration::from_secs(16),
        store_dir: None,
    };
    let owner = common::Owner::create(&stack, &bin(), &plan).unwrap();
    let log = owner.config.with_file_name("daemon.log");
    let mut daemon = owner.spawn_daemon(None, &log).unwrap();
    let both_sent = common::wait_for(Duration::from_secs(60), async || {
        owner
            .rows()
            .is_ok_and(|rows| rows.iter().filter(|r| r.state == "sent").count() == 2)
    })
    .await;
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    assert!(
        both_sent,
        "the follow-up due during a long IDLE was not sent: {:?}\n{}",
        owner.rows().unwrap(),
        String::from_utf8_lossy(&std::fs::read(&log).unwrap_or_default())
    );
}
