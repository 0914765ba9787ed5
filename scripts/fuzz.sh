#!/usr/bin/env bash
# Runs candor's coverage-guided fuzzers (cargo fuzz, libFuzzer) for a bounded time each and
# reports crashes. Not part of CI: run it by hand, e.g. `scripts/fuzz.sh` (60 s per target) or
# `FUZZ_SECONDS=300 scripts/fuzz.sh mail_parse`; FUZZ_FLAGS below.
#
# Needs a nightly toolchain (libFuzzer's instrumentation is `-Zsanitizer`/`-Cpasses` only) and
# cargo-fuzz, which it installs from crates.io when missing. Seeds come from ../shared/corpora
# at run time (never copied into the repository) plus a few generated inputs; what the fuzzer
# learns is kept in fuzz/corpus/ (git-ignored) so later runs start further on.
# Exit status: 0 when no target crashed, 1 when one did (inputs under fuzz/artifacts/TARGET/).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

seconds=${FUZZ_SECONDS:-60}
# Extra cargo-fuzz build flags: empty is release with debug assertions and overflow checks (the
# most sensitive); FUZZ_FLAGS=-O drops those checks for speed.
read -r -a build_flags <<<"${FUZZ_FLAGS:-}"
all_targets=(mail_parse ooo_date config_parse imap_wire)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "== no nightly toolchain: installing one (libFuzzer needs nightly's -Zsanitizer)"
    rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== cargo-fuzz missing: installing it from crates.io"
    cargo install cargo-fuzz --locked
fi

corpora="$repo/../shared/corpora"
seeds_for() {
    # Read-only seed directories for a target (libFuzzer reads them recursively, writes only to
    # the first directory it is given).
    case "$1" in
        mail_parse | ooo_date)
            if [ -d "$corpora" ]; then
                find "$corpora" -mindepth 1 -maxdepth 1 -type d
            fi
            ;;
        config_parse) echo "$repo/fuzz/seeds/config_parse" ;;
        imap_wire) echo "$repo/fuzz/seeds/imap_wire" ;;
    esac
}

mkdir -p fuzz/seeds/config_parse fuzz/seeds/ooo_date fuzz/seeds/imap_wire
# One byte of read size, then what a server sends: FETCH answers, other untagged answers, the
# tagged completion.
printf '\x07* 1 FETCH (UID 7 INTERNALDATE "17-Jul-1996 02:44:25 -0700" BODY[]<0> {12}\r\nSubject: a\r\n FLAGS (\\Seen))\r\n* 3 EXISTS\r\n* 2 FETCH (UID 8 BODY[HEADER] "a\\"b" BODY[TEXT]<0> NIL)\r\nA0001 OK done\r\n' \
    >fuzz/seeds/imap_wire/answers.txt
cp config.example.toml fuzz/seeds/config_parse/example.toml
# Two bytes of sending day (little endian days since 1970-01-01), then subject, newline, text.
printf '\x10\x50Out of office until 3 March\nI am away and back on Monday, 10.03.2025.' \
    >fuzz/seeds/ooo_date/en.txt
printf '\x10\x50Abwesenheitsnotiz\nIch bin bis zum 14. April nicht im B\xc3\xbcro.' \
    >fuzz/seeds/ooo_date/de.txt
printf "\\x10\\x50Absence\\nJe serai de retour le 2 mai 2025, jusqu'au 30/04." \
    >fuzz/seeds/ooo_date/fr.txt

if [ ! -d "$corpora" ]; then
    echo "note: $corpora is absent: mail targets start from generated seeds only"
fi

crashed=()
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
    mapfile -t seeds < <(seeds_for "$target")
    [ "$target" = ooo_date ] && seeds+=("$repo/fuzz/seeds/ooo_date")
    before=$(find "fuzz/artifacts/$target" -type f | wc -l)
    echo "== fuzzing $target for ${seconds}s (seeds: ${#seeds[@]} directories)"
    # -timeout: an input taking 10 s is a hang worth a report; -max_len: a header block plus
    # the 16 KiB body prefix the IMAP layer fetches, with room to spare.
    status=0
    cargo +nightly fuzz run "${build_flags[@]}" --fuzz-dir fuzz "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -timeout=10 -max_len=65536 -print_final_stats=1 \
        2>&1 | tee "fuzz/artifacts/$target.log" | grep -E '^(#[0-9]+.*DONE|stat::|==[0-9]+==|SUMMARY|Done)' || true
    status=${PIPESTATUS[0]}
    after=$(find "fuzz/artifacts/$target" -type f | wc -l)
    if [ "$status" -ne 0 ] || [ "$after" -gt "$before" ]; then
        echo "!! $target crashed (exit $status); inputs in fuzz/artifacts/$target/, log in fuzz/artifacts/$target.log"
        crashed+=("$target")
    else
        echo "== $target: no crash in ${seconds}s"
    fi
done

if [ "${#crashed[@]}" -gt 0 ]; then
    echo "crashes in: ${crashed[*]}"
    exit 1
fi
echo "no crash in ${targets[*]}"
