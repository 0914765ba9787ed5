#!/usr/bin/env bash
# The ingest benchmark of issue 4: on one machine, in one run, against one loopback Dovecot
# holding N synthetic recruiting messages (INBOX + Sent), time
#   (a) `candor sync` into an empty store, candor as scripts/build-pgo.sh builds it (the build the
#       README's production install uses),
#   (b) mbsync pulling the same folders into an empty Maildir with `FSync no`,
#   (c) the floor: examples/fetch_floor.rs fetching exactly what candor fetches (imap::fetch_items) and discarding it,
#   (d) for comparison only, that floor over two connections (one per folder), as candor's first
#       sync fetches over two,
# and print messages/s, the ratios candor/mbsync and candor/floor, candor's peak RSS and
# PASS/MISS against the targets (>= 2x mbsync, >= floor/1.5, RSS < 64 MiB), and per run the CPU
# each contender used and the core-seconds the whole machine was busy (client + Dovecot + kernel).
#
# All of it twice in one run, once per transport: implicit TLS (as candor reads a real server) and
# plain IMAP on loopback. On one machine the server's TLS is a process of its own (Dovecot's
# imap-login proxies every byte), whose CPU the two cores must also give while candor parses
# and stores, and which the floor's lone fetch leaves room for: plain IMAP shows the contenders'
# own costs without it (BENCHMARKS.md, 2026-11-28).
#
# Usage: scripts/bench-ingest.sh [N]   (default 100000)
# Env:   BENCH_RUNS=R        rounds of (a), (b), (c) per transport; each table shows the best of R
#                            (default 3)
#        BENCH_TRANSPORTS    "tls plain" (default), or one of them
#        CANDOR_BENCH_CACHE  where generated mailboxes are kept (default /tmp/candor-bench-cache)
#        BENCH_KEEP=1        keep the work directory (stores, logs) after the run
set -euo pipefail

n=${1:-100000}
case "$n" in
    '' | *[!0-9]*) echo "usage: $0 [N]" >&2; exit 2 ;;
esac
repo=$(cd "$(dirname "$0")/.." && pwd)
shared="$repo/../shared"
generator="$shared/tools/synth_recruiting_mailbox.py"
user=jane@agency.example
runs=${BENCH_RUNS:-3}
case "$runs" in
    '' | *[!0-9]* | 0) echo "BENCH_RUNS must be a positive number" >&2; exit 2 ;;
esac
transports=''
for transport in ${BENCH_TRANSPORTS:-tls plain}; do
    case "$transport" in
        tls | plain) ;;
        *) echo "BENCH_TRANSPORTS takes tls and plain, not $transport" >&2; exit 2 ;;
    esac
    # Each once: a second pass would reuse the first one's directories (and mbsync its Maildir).
    case " $transports " in
        *" $transport "*) echo "BENCH_TRANSPORTS names $transport twice" >&2; exit 2 ;;
    esac
    transports="$transports $transport"
done
[ -n "$transports" ] || { echo "BENCH_TRANSPORTS names no transport (tls, plain)" >&2; exit 2; }
transport_count=$(printf '%s\n' $transports | wc -l)
cache_root=${CANDOR_BENCH_CACHE:-/tmp/candor-bench-cache}
bin="${CARGO_TARGET_DIR:-$repo/target}/release"

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench-ingest: %s\n' "$*" >&2; exit 1; }

[ -f "$generator" ] || die "$generator is absent: this benchmark needs ../shared/tools (the synthetic mailbox generator) beside the repository"

# Peers and tools: installed when we may (root), otherwise the command is printed.
need_package() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" = 0 ]; then
        say "installing $2 (for $1)"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
            --no-install-recommends "$2" >/dev/null
    else
        die "$1 is missing: run  sudo apt-get install -y $2"
    fi
}
need_package mbsync isync
[ -x /usr/bin/time ] || need_package /usr/bin/time time
command -v dovecot >/dev/null 2>&1 || die "dovecot is missing: run scripts/install-mailstack.sh"

say "building release binaries"
(cd "$repo" && cargo build --quiet --release --features testkit --bins --examples)
say "building candor with profile-guided optimisation (scripts/build-pgo.sh)"
"$repo/scripts/build-pgo.sh"
candor_bin="$repo/target/pgo/release/candor"

# The mailbox: deterministic for (N, seed), so it is generated once and cached.
mailbox="$cache_root/synth-$n"
if [ ! -f "$mailbox/.complete" ]; then
    say "generating $n messages into $mailbox (about 60 s per 100k)"
    mkdir -p "$cache_root"
    rm -rf "$mailbox.tmp" "$mailbox"
    python3 "$generator" --messages "$n" --seed 7 --layout folders --no-mbox \
        --out "$mailbox.tmp" >/dev/null
    touch "$mailbox.tmp/.complete"
    mv "$mailbox.tmp" "$mailbox"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/candor-bench-XXXXXX")
# The seeded mailbox and every round's Maildir stay until the end (below): about their size each.
need_kib=$(( $(du -sk "$mailbox" | cut -f1) * (runs * transport_count + 2) ))
free_kib=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
if [ "$free_kib" -lt "$need_kib" ]; then
    rmdir "$work"
    die "$((need_kib / 1024)) MiB free needed under ${TMPDIR:-/tmp} for $runs rounds, $((free_kib / 1024)) MiB there (set TMPDIR or BENCH_RUNS)"
fi
# Dovecot's auth and the vmail user must traverse every directory on the path.
chmod 0755 "$work"
stack="$work/stack"
cleanup() {
    "$bin/candor-stack" stop --dir "$stack" >/dev/null 2>&1 || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        say "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting the stack in $stack"
"$bin/candor-stack" start --dir "$stack" --user "$user" >/dev/null
# shellcheck disable=SC1091
. "$stack/stack.env"
password=$USER_1_PASSWORD

say "seeding the Maildir of $user"
"$bin/candor-stack" seed-maildir --dir "$stack" --user "$user" --from "$mailbox/maildir" >&2

# candor's configuration (scripts/lib/loopback-config.sh); the password file must be owner-only.
(umask 077 && printf '%s' "$password" >"$work/password")
# shellcheck source=lib/loopback-config.sh
. "$repo/scripts/lib/loopback-config.sh"
write_config() { # store-path config-path [transport]
    local tls=implicit
    [ "${3:-tls}" = plain ] && tls=none
    LOOPBACK_IMAP_TLS=$tls write_loopback_config "$1" "$2" bench "Jane Bench" "$user" "$work/password"
}

now_ns() { date +%s%N; }
seconds_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
# The whole machine's busy time (every process: the client, Dovecot, the kernel), in clock ticks:
# on a machine the client shares with the server, the cores it keeps busy set the pace.
ticks=$(getconf CLK_TCK)
busy_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
core_seconds() { awk -v a="$1" -v b="$2" -v t="$ticks" 'BEGIN { printf "%.2f", (b - a) / t }'; }
# Untimed, before each timed run: the kernel writes back what the runs before left in the page
# cache (mbsync's Maildir of ~1 GB, candor's store, the seeded mailbox), so that no contender
# pays for another's writeback on the same two cores.
settle() { sync; }
# Dovecot's CPU: its imap and imap-login processes (one each per connection, the latter doing
# the TLS) exit at logout and are reaped by the master, whose children's times then hold theirs.
# Read once they are gone, so that a round's server CPU is complete. On two cores the server's
# CPU bounds what the client may use: candor/floor >= 0.67 needs candor's run, server and client
# together, to fit in 1.5 times the floor's seconds on those cores.
server_ticks() {
    local master waited=0
    master=$(cat "$stack/run/dovecot/master.pid")
    while pgrep -P "$master" -x 'imap|imap-login' >/dev/null && [ "$waited" -lt 50 ]; do
        sleep 0.1
        waited=$((waited + 1))
    done
    awk '{ print $16 + $17 }' "/proc/$master/stat"
}
# A contender's own CPU (user + system) from a `/usr/bin/time -f "%U %S"` file.
own_cpu() { awk 'END { printf "%.2f", $1 + $2 }' "$1"; }

# Warm-up (untimed): Dovecot builds its index and cache files on the first full read; after this
# every contender meets the same warm server and the same page cache.
write_config "$work/warm.db" "$work/warm.toml"
say "warming the server: one untimed floor run builds Dovecot's index files for every contender"
"$bin/examples/fetch_floor" "$work/warm.toml" INBOX Sent >&2

# mbsync 1.4.4 matches the certificate against DNS names only (no IP SANs: "certificate owner
# does not match hostname 127.0.0.1"), so it connects to `localhost`, which the test
# certificate names and which resolves to the loopback address Dovecot listens on.
write_mbsyncrc() { # near-maildir rc-path transport
    local transport
    if [ "$3" = plain ]; then
        transport="Port $IMAP_PORT
SSLType None"
    else
        transport="Port $IMAPS_PORT
SSLType IMAPS
CertificateFile $CA_FILE"
    fi
    umask 077
    cat >"$2" <<EOF
FSync no

IMAPAccount bench
Host localhost
$transport
User $user
Pass $password

IMAPStore far
Account bench

MaildirStore near
Inbox $1
SubFolders Maildir++

Channel bench
Far :far:
Near :near:
Patterns INBOX Sent
Create Near
Sync Pull
SyncState *
EOF
    umask 022
}

bench_transport() { # tls | plain
    # Rounds of (a), (b), (c), interleaved so that load from other processes on a shared machine
    # falls on every contender alike; each run starts from an empty destination, after `settle`.
    # The table uses the fastest run of each contender (the least disturbed) and candor's highest
    # peak RSS.
    candor_s='' mbsync_s='' floor_s='' floor2_s='' rss_kib=0
    # Per round: the contender's own CPU and the machine's busy core-seconds, "own/busy".
    candor_cpu='' mbsync_cpu='' floor_cpu=''
    # Per round: Dovecot's CPU while candor ran and while the floor ran.
    candor_server='' floor_server=''

    for round in $(seq 1 "$runs"); do
        say "$transport: round $round of $runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
        dir="$work/$transport-round$round"
        mkdir -p "$dir"

        write_config "$dir/candor.db" "$dir/candor.toml" "$transport"
        settle
        d0=$(server_ticks)
        b0=$(busy_ticks)
        t0=$(now_ns)
        RUST_LOG=warn /usr/bin/time -v -o "$dir/candor.time" \
            "$candor_bin" --config "$dir/candor.toml" sync >"$dir/candor.out" 2>"$dir/candor.err" ||
            { cat "$dir/candor.err" >&2; die "candor sync failed"; }
        t1=$(now_ns)
        b1=$(busy_ticks)
        own=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$dir/candor.time")
        candor_cpu="$candor_cpu $own/$(core_seconds "$b0" "$b1")"
        candor_server="$candor_server $(core_seconds "$d0" "$(server_ticks)")"
        seconds=$(seconds_between "$t0" "$t1")
        candor_s="$candor_s $seconds"
        candor_n=$(sed -n 's/^bench: \([0-9]*\) fetched.*/\1/p' "$dir/candor.out")
        [ -n "$candor_n" ] || die "cannot read the message count from candor's output"
        rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/candor.time")
        [ "$rss" -gt "$rss_kib" ] && rss_kib=$rss
        say "(a) candor sync, empty store: $seconds s, $(cat "$dir/candor.out"), peak RSS $rss KiB"

        write_mbsyncrc "$dir/mbsync/Maildir" "$dir/mbsyncrc" "$transport"
        mkdir -p "$dir/mbsync"
        settle
        b0=$(busy_ticks)
        t0=$(now_ns)
        /usr/bin/time -f '%U %S' -o "$dir/mbsync.time" mbsync -q -c "$dir/mbsyncrc" bench \
            >"$dir/mbsync.out" 2>&1 || { cat "$dir/mbsync.out" >&2; die "mbsync failed"; }
        t1=$(now_ns)
        b1=$(busy_ticks)
        mbsync_cpu="$mbsync_cpu $(own_cpu "$dir/mbsync.time")/$(core_seconds "$b0" "$b1")"
        seconds=$(seconds_between "$t0" "$t1")
        mbsync_s="$mbsync_s $seconds"
        mbsync_n=$(find "$dir/mbsync/Maildir" -type f \( -path '*/cur/*' -o -path '*/new/*' \) | wc -l)
        say "(b) mbsync, FSync no: $seconds s, $mbsync_n messages $(tr '\n' ' ' <"$dir/mbsync.out")"

        settle
        d0=$(server_ticks)
        b0=$(busy_ticks)
        t0=$(now_ns)
        /usr/bin/time -f '%U %S' -o "$dir/floor.time" \
            "$bin/examples/fetch_floor" "$dir/candor.toml" INBOX Sent >"$dir/floor.out"
        t1=$(now_ns)
        b1=$(busy_ticks)
        floor_cpu="$floor_cpu $(own_cpu "$dir/floor.time")/$(core_seconds "$b0" "$b1")"
        floor_server="$floor_server $(core_seconds "$d0" "$(server_ticks)")"
        seconds=$(seconds_between "$t0" "$t1")
        floor_s="$floor_s $seconds"
        floor_n=$(sed -n 's/^floor: \([0-9]*\) messages.*/\1/p' "$dir/floor.out")
        say "(c) floor: $seconds s, $floor_n messages"

        settle
        t0=$(now_ns)
        "$bin/examples/fetch_floor" "$dir/candor.toml" INBOX >"$dir/floor2-inbox.out" &
        inbox_pid=$!
        "$bin/examples/fetch_floor" "$dir/candor.toml" Sent >"$dir/floor2-sent.out" ||
            die "fetch_floor (Sent) failed"
        wait "$inbox_pid" || die "fetch_floor (INBOX) failed"
        t1=$(now_ns)
        seconds=$(seconds_between "$t0" "$t1")
        floor2_s="$floor2_s $seconds"
        say "(d) floor over two connections: $seconds s"

        # mbsync's Maildirs stay until the end: deleting 100k files after each round made mbsync's
        # later rounds up to 3.6 times slower (ext4's inode allocator reads the inode of each free
        # inode it considers, to skip those just deleted; BENCHMARKS.md). candor's store is one file.
        rm -f "$dir"/candor.db*
    done
    best() { printf '%s\n' $1 | sort -g | head -n1; }
    all() { printf '%s' "$1" | sed 's/^ //; s/ /, /g'; }

    # The table.
    case "$transport" in
        tls) printf '\n### Implicit TLS (candor'"'"'s default; the server'"'"'s TLS proxy shares the cores)\n' ;;
        plain) printf '\n### Plain IMAP on loopback (no TLS on either side)\n' ;;
    esac
    awk -v n="$n" \
        -v cn="$candor_n" -v cs="$(best "$candor_s")" -v rss="$rss_kib" \
        -v mn="$mbsync_n" -v ms="$(best "$mbsync_s")" \
        -v fn="$floor_n" -v fs="$(best "$floor_s")" -v f2s="$(best "$floor2_s")" -v runs="$runs" 'BEGIN {
        crate = cn / cs; mrate = mn / ms; frate = fn / fs; f2rate = fn / f2s
        rss_mib = rss / 1024
        vs_mbsync = crate / mrate; vs_floor = crate / frate
        printf "\n| contender | messages | seconds (best of %d) | messages/s |\n|---|---:|---:|---:|\n", runs
        printf "| (a) candor sync, empty store | %d | %.2f | %.0f |\n", cn, cs, crate
        printf "| (b) mbsync, FSync no | %d | %.2f | %.0f |\n", mn, ms, mrate
        printf "| (c) floor (fetch_floor) | %d | %.2f | %.0f |\n", fn, fs, frate
        printf "| (d) floor over two connections (for comparison) | %d | %.2f | %.0f |\n", fn, f2s, f2rate
        printf "\n| measure | value | target | result |\n|---|---:|---|---|\n"
        printf "| candor/mbsync (messages/s) | %.2f | >= 2.00 | %s |\n", vs_mbsync, (vs_mbsync >= 2 ? "PASS" : "MISS")
        printf "| candor/floor (messages/s) | %.2f | >= 0.67 (within 1.5x) | %s |\n", vs_floor, (vs_floor >= 1 / 1.5 ? "PASS" : "MISS")
        printf "| candor peak RSS | %.1f MiB | < 64 MiB | %s |\n", rss_mib, (rss_mib < 64 ? "PASS" : "MISS")
        printf "| candor/(d), for comparison | %.2f | (none) | |\n", crate / f2rate
        printf "\nN = %d generated (seed 7, layout folders); every contender reads INBOX and Sent; candor over two connections, as (d).\n", n
    }'
    printf '\nmachine: %s cores, %s MiB RAM, kernel %s, Debian %s; %s; %s\n' \
        "$(nproc)" "$(awk '/MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)" "$(uname -r)" \
        "$(cat /etc/debian_version 2>/dev/null || echo '?')" \
        "Dovecot $(dovecot --version | cut -d' ' -f1)" "$(mbsync --version 2>&1 | head -n1)"
    printf 'all runs (s): candor %s; mbsync %s; floor %s; floor over two connections %s\n' \
        "$(all "$candor_s")" "$(all "$mbsync_s")" "$(all "$floor_s")" "$(all "$floor2_s")"
    printf 'CPU per run, own/machine busy (core-s): candor %s; mbsync %s; floor %s\n' \
        "$(all "$candor_cpu")" "$(all "$mbsync_cpu")" "$(all "$floor_cpu")"
    printf "Dovecot's CPU per run (core-s, imap + imap-login): during candor %s; during the floor %s\n" \
        "$(all "$candor_server")" "$(all "$floor_server")"
    # Each round runs the contenders back to back, so its ratio compares them in one phase of a
    # shared machine; the table's best rounds may come from different phases (BENCHMARKS.md).
    # paired CANDOR_N CANDOR_S OTHER_N OTHER_S: candor's messages/s over the other's, per round,
    # then their median.
    paired() {
        awk -v cn="$1" -v cs="$2" -v on="$3" -v os="$4" 'BEGIN {
            k = split(cs, c, " "); split(os, o, " ")
            for (i = 1; i <= k; i++) {
                r[i] = (cn / c[i]) / (on / o[i]); out = out sprintf("%s%.2f", i > 1 ? ", " : "", r[i])
            }
            for (i = 2; i <= k; i++) for (j = i; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
            median = k % 2 ? r[(k + 1) / 2] : (r[k / 2] + r[k / 2 + 1]) / 2
            printf "%s (median %.2f)", out, median
        }'
    }
    printf 'round by round: candor/floor %s; candor/mbsync %s\n' \
        "$(paired "$candor_n" "$candor_s" "$floor_n" "$floor_s")" \
        "$(paired "$candor_n" "$candor_s" "$mbsync_n" "$mbsync_s")"
    # The bound: in 1.5 times the floor's best seconds, the machine's cores, fully used, give
    # cores * 1.5 * floor core-s; what the server used during candor's fastest round is not candor's.
    awk -v cores="$(nproc)" -v fs="$(best "$floor_s")" -v d="$(best "$candor_server")" 'BEGIN {
        printf "bound: for candor/floor >= 0.67 on %d cores, candor may use at most %.2f core-s (%d x 1.5 x %.2f s, less the server'"'"'s least %.2f core-s), and only if the cores are never idle\n", cores, cores * 1.5 * fs - d, cores, fs, d
    }'
    printf 'load average at the end: %s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
}

for transport in $transports; do
    bench_transport
done
printf 'date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
