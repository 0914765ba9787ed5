#!/usr/bin/env bash
# The outage campaign (issue 9, RELIABILITY.md): builds candor and runs
# `examples/campaign.rs outage RESTARTS` (default 20 restarts of each server, 1000 seeded Inbox
# messages per restart) against a fresh loopback Dovecot + Postfix, then the full-disk and
# read-only store phase on a 4 MB tmpfs. Needs root (the stack, mount). Exit 1 on a violation.
set -euo pipefail
cd "$(dirname "$0")/.."
restarts="${1:-20}"
cargo build --quiet --features testkit,failpoints --bin candor --example campaign
CANDOR_BIN="$PWD/target/debug/candor" exec target/debug/examples/campaign outage "$restarts"
