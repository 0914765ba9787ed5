//! The command line's own inputs, as strict as the configuration's (SPEC §11): the addresses the
//! candidate commands name and the dates and times they take. Exit 2 with the reason, nothing
//! recorded. No server is needed: these commands read and change the store only.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::text;

fn config(dir: &Path) -> PathBuf {
    crate::cli_config::base_with_store(dir, "candor").0
}

fn candor(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run candor")
}

/// Found in review: `candidate pause "Ann Lee <ann@x.example>"` said the candidate was paused
/// (exit 0) while the pause matched nobody, so automated mail to ann@x.example went on; `forget`
/// said they were forgotten, `merge` that two addresses were one candidate.
#[test]
fn candidate_commands_refuse_what_is_not_a_plain_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path());
    let named = "Ann Lee <ann@x.example>";
    for args in [
        vec!["candidate", "pause", named],
        vec!["candidate", "resume", named],
        vec!["candidate", "forget", "ann@x.example>"],
        vec!["candidate", "close", "ann@", "--outcome", "withdrawn"],
        vec!["candidate", "merge", "ann@home.example", named],
        vec!["candidate", "merge", named, "ann@home.example"],
    ] {
        let out = candor(&config, &args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("is not an email address"),
            "{args:?}: {stderr}"
        );
    }
    let out = candor(&config, &["candidate", "pause", "Ann@X.example"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("ann@x.example: paused"));
}

/// Found in review: a time without its offset was read as its day (jiff's date parser drops the
/// time), so `--since 09:00 --until 17:00` of one day was refused as an empty window, a lone
/// `--since` quietly began at midnight, and `pause --until` a time paused until that day.
#[test]
fn times_without_an_offset_are_refused_not_cut_to_their_day() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(dir.path());
    let since = ["--since", "2026-11-02T09:00:00"];
    let until = ["--until", "2026-11-02T17:00:00"];
    for args in [
        [&["stats", "--json"][..], &since[..], &until[..]].concat(),
        [&["stats", "--json"][..], &since[..]].concat(),
        vec![
            "candidate",
            "pause",
            "ann@x.example",
            "--until",
            "2099-01-05T10:00",
        ],
    ] {
        let out = candor(&config, &args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("empty"), "{args:?}: {stderr}");
    }
    let out = candor(
        &config,
        &["stats", "--json", "--since", "2026-11-02T09:00:00Z"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}
