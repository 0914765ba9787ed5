//! The crash and outage campaigns of issue 9 (see RELIABILITY.md), run against a fresh loopback
//! Dovecot + Postfix: `campaign crash [KILLS]` or `campaign outage [RESTARTS [INBOX_MESSAGES]]`. The `candor`
//! binary must be built with the `failpoints` feature (`campaigns/*.sh` do it); `CANDOR_BIN`
//! names it, else the one beside this example's directory is used. Exits 1 on any violation.

#[path = "campaigns/common.rs"]
mod common;
#[path = "campaigns/crash.rs"]
mod crash;
#[path = "campaigns/outage.rs"]
mod outage;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;

fn candor_bin() -> anyhow::Result<PathBuf> {
    if let Some(bin) = std::env::var_os("CANDOR_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe()?;
    // target/<profile>/examples/campaign → target/<profile>/candor
    let bin = exe
        .parent()
        .and_then(|p| p.parent())
        .map(|p| p.join("candor"))
        .context("cannot locate the candor binary: set CANDOR_BIN")?;
    Ok(bin)
}

fn number(arg: Option<&String>, default: usize) -> anyhow::Result<usize> {
    arg.map_or(Ok(default), |a| a.parse().context("a count"))
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let bin = candor_bin()?;
    let violations = match args.get(1).map(String::as_str) {
        Some("crash") => {
            let kills = number(args.get(2), 100)?;
            let p = crash::CrashParams {
                bin,
                candidates: 40,
                answering: 10,
                kills,
                max_life: Duration::from_millis(3000),
                spread: Duration::from_secs((kills as u64 * 3 / 2).max(10)),
            };
            let f = crash::crash_campaign(&p).await?;
            f.print(&p);
            f.violations()
        }
        Some("outage") => {
            let restarts = number(args.get(2), 20)?;
            let mut p = outage::OutageParams::full(bin, restarts);
            // A bigger Inbox keeps the first FETCH running through more restarts.
            if let Some(inbox) = args.get(3) {
                p.big_inbox = number(Some(inbox), p.big_inbox)?;
            }
            let f = outage::outage_campaign(&p).await?;
            f.print(&p);
            f.violations()
        }
        _ => anyhow::bail!(
            "usage: campaign crash [KILLS] | campaign outage [RESTARTS [INBOX_MESSAGES]]"
        ),
    };
    if violations.is_empty() {
        println!("\nno violation");
        Ok(())
    } else {
        println!("\n{} violation(s)", violations.len());
        std::process::exit(1);
    }
}
