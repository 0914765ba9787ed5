#!/usr/bin/env bash
# The systemd checks of issue 8: the unit files verify clean and the system unit's hardening rates
# an exposure of 2.0 or lower. `systemd-analyze verify` needs the ExecStart binary, so this builds
# the release binary and installs it at /usr/local/bin/candor (the path the units name). Installs
# systemd's tools first when missing (Debian, as root). Works without a running systemd.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v systemd-analyze >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "systemd-analyze is missing: install systemd (apt-get install systemd), then run $0 again" >&2
        exit 1
    fi
    echo "== installing systemd (for systemd-analyze)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 systemd >/dev/null
fi

echo "== release build, installed as /usr/local/bin/candor (the units' ExecStart)"
cargo build --release --quiet --bin candor
install -m 0755 target/release/candor /usr/local/bin/candor

# verify prints nothing for a clean unit; warnings come with exit code 0, so any output fails.
echo "== systemd-analyze verify systemd/candor.service"
out=$(systemd-analyze verify systemd/candor.service 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi

echo "== systemd-analyze verify --user systemd/candor-user.service"
runtime=$(mktemp -d)
trap 'rm -rf "$runtime"' EXIT
chmod 0700 "$runtime"
out=$(XDG_RUNTIME_DIR="$runtime" systemd-analyze verify --user systemd/candor-user.service 2>&1) || {
    echo "$out" >&2
    exit 1
}
if [ -n "$out" ]; then echo "$out" >&2; exit 1; fi

echo "== systemd-analyze security --offline=true systemd/candor.service"
report=$(systemd-analyze security --offline=true systemd/candor.service 2>&1 || true)
level=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for candor.service: \([0-9.]*\).*/\1/p')
if [ -z "$level" ]; then
    printf '%s\n' "$report" >&2
    echo "no exposure level in the report" >&2
    exit 1
fi
echo "exposure level: $level (at most 2.0)"
if ! awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }'; then
    printf '%s\n' "$report" | grep -v '✓' >&2
    exit 1
fi
echo "== systemd checks passed"
