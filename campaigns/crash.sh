#!/usr/bin/env bash
# The crash campaign (issue 9, RELIABILITY.md): builds candor with its failpoints and runs
# `examples/campaign.rs crash KILLS` (default 100) against a fresh loopback Dovecot + Postfix.
# Needs root (the test stack) and the mail servers (scripts/ installs them). Exit 1 on a violation.
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-100}"
cargo build --quiet --features testkit,failpoints --bin candor --example campaign
CANDOR_BIN="$PWD/target/debug/candor" exec target/debug/examples/campaign crash "$kills"
