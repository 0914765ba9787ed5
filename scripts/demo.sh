#!/usr/bin/env bash
# The demo of the README: a local Dovecot + Postfix on 127.0.0.1 with a seeded recruiter mailbox
# (Jane, a dozen candidates in different states, an out-of-office, a bounce, a mailing list, a
# colleague), and candor reading it. Set CANDOR_DEMO_KEEP=1 to leave the stack running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-mailstack.sh
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is missing: install Rust (https://rustup.rs), then run $0 again" >&2
    exit 1
fi

echo "== building candor"
cargo build --quiet --features testkit --bins
bin=target/debug
demo=${CANDOR_DEMO_DIR:-/tmp/candor-demo}

if [ -f "$demo/stack.env" ]; then
    "$bin/candor-stack" stop --dir "$demo" >/dev/null 2>&1 || true
fi
rm -rf "$demo"
mkdir -p "$demo"
chmod 755 "$demo"
stop_stack() {
    if [ "${CANDOR_DEMO_KEEP:-0}" = 1 ]; then
        echo "== the stack keeps running in $demo; stop it with: $bin/candor-stack stop --dir $demo"
    else
        "$bin/candor-stack" stop --dir "$demo" >/dev/null
        echo "== stack stopped (CANDOR_DEMO_KEEP=1 keeps it running)"
    fi
}
trap stop_stack EXIT

echo "== starting Dovecot and Postfix on 127.0.0.1 in $demo"
"$bin/candor-stack" start --dir "$demo" --user jane@agency.example >/dev/null
echo "== seeding the demo mailbox"
"$bin/candor-stack" seed-demo --dir "$demo"
# shellcheck disable=SC1091
source "$demo/stack.env"

password=$("$bin/candor-stack" password --dir "$demo" --user jane@agency.example)
umask 077
printf '%s' "$password" > "$demo/jane.password"

config="$demo/candor.toml"
cat > "$config" <<TOML
# The demo configuration: Jane's mailbox on the local test stack.
[storage]
path = "$demo/candor.db"

[logging]
level = "warn"

[[account]]
name = "jane"
owner_name = "Jane Doe"
owner_addresses = ["jane@agency.example"]
internal_domains = ["agency.example"]
timezone = "Europe/Berlin"
mode = "drafts"                       # candor prepares drafts; Jane sends them herself
signature = "Jane Doe\nTalent Partner, Agency"

[account.imap]
host = "127.0.0.1"
port = $IMAPS_PORT
tls = "implicit"
username = "jane@agency.example"
password_file = "$demo/jane.password"
ca_file = "$CA_FILE"

[account.smtp]
host = "127.0.0.1"
port = $SMTP_PORT
tls = "starttls"
username = "jane@agency.example"
password_file = "$demo/jane.password"
ca_file = "$CA_FILE"

[account.scope]
exclude = ["client.example"]          # a client, never a candidate to write to
aliases = [["julia.novak@candidates.example", "julia.n@mailbox.example"]]

[account.policy]
act_on_existing = true                # the demo mailbox is all "existing" mail

[account.schedule]
business_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
send_hours = "00:00-24:00"            # so that the demo works at any hour
TOML

candor() { "$bin/candor" --config "$config" "$@"; }

echo
echo "== candor check-config"
candor check-config
echo
echo "== candor sync (read-only: EXAMINE and BODY.PEEK)"
candor sync
echo
echo "== candor stats --json"
candor stats --json
echo
echo "== a second sync fetches nothing new"
candor sync
echo
echo "== candor candidates: who is waiting on whom"
candor candidates
echo
echo "== candor candidate show julia.novak@candidates.example (two addresses, one candidate)"
candor candidate show julia.novak@candidates.example
echo
echo "== candor plan: what candor would do now, and what it holds back"
candor plan
echo
echo "== candor run --once (drafts mode: ready drafts go to Jane's Drafts folder; nothing is sent)"
candor run --once
echo
echo "== candor outbox list"
candor outbox list
echo
echo "== what landed in Jane's Drafts"
"$bin/candor-stack" show-folder --dir "$demo" --user jane@agency.example --folder Drafts
echo
echo "== a second run --once adds nothing"
candor run --once
echo
echo "== candor digest --print: the summary Jane receives every morning"
candor digest --print
