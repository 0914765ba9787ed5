#!/usr/bin/env bash
# The test command of the README: installs the mail servers if missing, then runs the formatter
# check, clippy and every test against real Dovecot and Postfix on loopback, and finally checks
# that no mail server process of the suite is left behind.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-mailstack.sh

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install Rust (https://rustup.rs), then run $0 again" >&2
    exit 1
fi

echo "== cargo fmt --check"
cargo fmt --check
echo "== cargo clippy"
cargo clippy --all-targets --all-features -- -D warnings
echo "== systemd units (verify, security)"
scripts/check-systemd.sh
echo "== cargo test"
cargo test --all-features
echo "== leftover mail server processes"
cargo run --quiet --features testkit --bin candor-stack -- leftovers
echo "== all tests passed"
