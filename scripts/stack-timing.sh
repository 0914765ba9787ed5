#!/bin/sh
# Starts and stops a loopback mail stack N times (default 5) and prints start and stop times
# (min/median/max, ms). Usage: scripts/stack-timing.sh [N] [--release]
set -eu

cd "$(dirname "$0")/.."
runs=5
profile=debug
for arg in "$@"; do
    case "$arg" in
        --release) profile=release ;;
        *[!0-9]*|'') echo "usage: $0 [N] [--release]" >&2; exit 2 ;;
        *) runs=$arg ;;
    esac
done
if [ "$profile" = release ]; then
    cargo build --quiet --release --features testkit --bin candor-stack
else
    cargo build --quiet --features testkit --bin candor-stack
fi
bin="target/$profile/candor-stack"

now_ms() { date +%s%3N; }
starts=''
stops=''
i=0
while [ "$i" -lt "$runs" ]; do
    dir=$(mktemp -d "${TMPDIR:-/tmp}/candor-stack-XXXXXX")
    chmod 0755 "$dir"
    t0=$(now_ms)
    "$bin" start --dir "$dir" --user timing@agency.example >/dev/null
    t1=$(now_ms)
    "$bin" stop --dir "$dir"
    t2=$(now_ms)
    rm -rf "$dir"
    starts="$starts $((t1 - t0))"
    stops="$stops $((t2 - t1))"
    i=$((i + 1))
done

summary() {
    printf '%s\n' $2 | sort -n | awk -v label="$1" '
        { v[NR] = $1 }
        END {
            if (NR % 2) median = v[(NR + 1) / 2]; else median = (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%s ms over %d runs: min %d, median %d, max %d\n", label, NR, v[1], median, v[NR]
        }'
}
summary "start" "$starts"
summary "stop " "$stops"
