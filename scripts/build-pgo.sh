#!/usr/bin/env bash
# Builds candor's release binaries with profile-guided optimisation (PGO), the build that
# BENCHMARKS.md measures: an instrumented build first syncs the demo mailbox (the README's demo,
# on a local Dovecot started for it in a temporary directory), then the release build is
# optimised with the branch and call counts recorded there. Issue 4: 13% less CPU in a first sync
# than the plain release build (parser 13%, reader 21%, store 8%; BENCHMARKS.md).
#
# Output: target/pgo/release/candor (and candor-stack). Needs the mail stack of the demo
# (scripts/install-mailstack.sh) and llvm-profdata of the LLVM that rustc is built on: the
# rustup component llvm-tools, else the distribution's llvm-N package, installed here through apt
# when run as root (else the exact command is printed).
#
# Usage: scripts/build-pgo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

say() { echo "== $*" >&2; }
die() { echo "build-pgo: $*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || die "cargo is missing: install Rust (https://rustup.rs)"
scripts/install-mailstack.sh >&2

# llvm-profdata must read the profiles of rustc's own LLVM: the same major version.
llvm_major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
[ -n "$llvm_major" ] || die "cannot tell rustc's LLVM version (rustc -vV)"
find_profdata() {
    local sysroot candidate
    sysroot=$(rustc --print sysroot)
    for candidate in "$sysroot"/lib/rustlib/*/bin/llvm-profdata \
        "$(command -v "llvm-profdata-$llvm_major" || true)" \
        "/usr/lib/llvm-$llvm_major/bin/llvm-profdata"; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}
if ! profdata=$(find_profdata); then
    APT='apt-get -o DPkg::Lock::Timeout=300'
    if [ "$(id -u)" -ne 0 ]; then
        die "llvm-profdata for LLVM $llvm_major is missing; either 'rustup component add llvm-tools', or as root: DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends llvm-$llvm_major"
    fi
    say "installing llvm-$llvm_major (llvm-profdata)"
    DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends "llvm-$llvm_major" >&2 ||
        die "could not install llvm-$llvm_major"
    profdata=$(find_profdata) || die "llvm-$llvm_major installed but llvm-profdata not found"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/candor-pgo.XXXXXX")
chmod 755 "$work"
stack="$work/stack"
gen="$repo/target/pgo-generate"
# The harness is instrumented as well; its profiles go elsewhere.
stack_cmd() { LLVM_PROFILE_FILE="$work/ignored/%p.profraw" "$gen/release/candor-stack" "$@"; }
cleanup() {
    if [ -f "$stack/stack.env" ]; then
        stack_cmd stop --dir "$stack" >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

say "instrumented build (1 of 2)"
# A fixed profile directory keeps RUSTFLAGS, and so the instrumented build, the same each time.
profiles="$gen/profiles"
RUSTFLAGS="-Cprofile-generate=$profiles" CARGO_TARGET_DIR="$gen" \
    cargo build --quiet --release --features testkit --bins
# Build scripts ran instrumented too: only the training's profiles count.
rm -rf "$profiles"

say "training: a first sync of the demo mailbox on a local Dovecot"
stack_cmd start --dir "$stack" --user jane@agency.example >/dev/null
stack_cmd seed-demo --dir "$stack" >/dev/null
# shellcheck disable=SC1091
source "$stack/stack.env"
(umask 077 && printf '%s' "$USER_1_PASSWORD" >"$work/password")
# shellcheck source=lib/loopback-config.sh
. "$repo/scripts/lib/loopback-config.sh"
write_loopback_config "$work/candor.db" "$work/candor.toml" jane "Jane Doe" \
    jane@agency.example "$work/password"
LLVM_PROFILE_FILE="$profiles/%p.profraw" "$gen/release/candor" --config "$work/candor.toml" sync >&2
stack_cmd stop --dir "$stack" >/dev/null
"$profdata" merge -o "$work/candor.profdata" "$profiles"/*.profraw
# Named by its content: cargo sees a new profile as new flags and rebuilds with it.
mkdir -p "$repo/target/pgo"
rm -f "$repo"/target/pgo/candor-*.profdata
sum=$(sha256sum "$work/candor.profdata" | cut -c1-16)
profile="$repo/target/pgo/candor-$sum.profdata"
cp "$work/candor.profdata" "$profile"

say "optimised build (2 of 2)"
# Functions the training never ran are built as usual, without a warning for each.
RUSTFLAGS="-Cprofile-use=$profile -Cllvm-args=-pgo-warn-missing-function=false" \
    CARGO_TARGET_DIR="$repo/target/pgo" cargo build --quiet --release --features testkit --bins
say "built $repo/target/pgo/release/candor"
