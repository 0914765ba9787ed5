#!/usr/bin/env bash
# The outage campaign (issue 9, RELIABILITY.md): builds candor and runs
# `examples/campaign.rs outage RESTARTS [INBOX_MESSAGES]` (default 20 restarts of each server,
# 1000 seeded Inbox messages per restart) against a fresh loopback Dovecot + Postfix, then the
# full-disk phase (a 4 MB tmpfs) and the read-only phase (an ext4 image turned read-only by an
# error). Needs root (the stack, mount, loop devices). Exit 1 on a violation.
set -euo pipefail
cd "$(dirname "$0")/.."
restarts="${1:-20}"
inbox=("${@:2:1}")
cargo build --quiet --features testkit,failpoints --bin candor --example campaign
CANDOR_BIN="$PWD/target/debug/candor" exec target/debug/examples/campaign outage "$restarts" "${inbox[@]}"
