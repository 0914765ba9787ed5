#!/usr/bin/env bash
# Threading + latency over a 100k-message store, cold and per new message (issue 5).
# Usage: scripts/bench-conversations.sh [MESSAGES]   (default 100000)
# Prints a table with the targets (cold < 1 s, per message < 1 ms) and PASS/MISS, plus the
# date and machine to copy into BENCHMARKS.md. Needs no mail server: the store is filled
# directly through mail::parse and ingest::store_batch.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --example conversations_bench
echo "date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
./target/release/examples/conversations_bench "${1:-100000}"
