#!/usr/bin/env bash
# The screenshot of the README: the demo mailbox's digest, as candor delivered it to Jane's Inbox,
# rendered by headless Chromium (Debian's `chromium` package), then checked not to be blank.
# Usage: scripts/digest-screenshot.sh [OUTPUT.png]   (default docs/digest.png). Run by hand;
# the test suite never starts a browser.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/digest.png}

if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "== installing Debian's chromium"
        apt-get -o DPkg::Lock::Timeout=300 update -qq
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
            --no-install-recommends chromium >/dev/null
    else
        echo "chromium is missing; as root run: apt-get install --no-install-recommends chromium" >&2
        exit 1
    fi
fi
scripts/install-mailstack.sh
echo "== building candor"
cargo build --quiet --features testkit --bins
bin=$PWD/target/debug

work=$(mktemp -d /tmp/candor-digest-shot.XXXXXX)
chmod 755 "$work"
demo=$work/stack
mkdir -m 755 "$demo"
cleanup() {
    "$bin/candor-stack" stop --dir "$demo" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

echo "== demo stack in $demo"
"$bin/candor-stack" start --dir "$demo" --user jane@agency.example >/dev/null
"$bin/candor-stack" seed-demo --dir "$demo" >/dev/null
# shellcheck disable=SC1091
source "$demo/stack.env"
password=$("$bin/candor-stack" password --dir "$demo" --user jane@agency.example)
(umask 077 && printf '%s' "$password" > "$work/jane.password")

config=$work/candor.toml
(umask 077 && cat > "$config") <<TOML
[storage]
path = "$work/candor.db"

[logging]
level = "warn"

[[account]]
name = "jane"
owner_name = "Jane Doe"
owner_addresses = ["jane@agency.example"]
internal_domains = ["agency.example"]
timezone = "Europe/Berlin"
mode = "drafts"
signature = "Jane Doe\nTalent Partner, Agency"

[account.imap]
host = "127.0.0.1"
port = $IMAPS_PORT
tls = "implicit"
username = "jane@agency.example"
password_file = "$work/jane.password"
ca_file = "$CA_FILE"

[account.smtp]
host = "127.0.0.1"
port = $SMTP_PORT
tls = "starttls"
username = "jane@agency.example"
password_file = "$work/jane.password"
ca_file = "$CA_FILE"

[account.folders]
hold = "Hold"

[account.scope]
exclude = ["client.example"]
aliases = [["julia.novak@candidates.example", "julia.n@mailbox.example"]]

[account.policy]
act_on_existing = true

[account.schedule]
business_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
send_hours = "00:00-24:00"
TOML
candor() { "$bin/candor" --config "$config" "$@"; }

# The hold folder the digest names, as Jane would create it in her mail client.
maildir=$demo/mail/jane@agency.example/Maildir
mkdir -p "$maildir/.Hold/cur" "$maildir/.Hold/new" "$maildir/.Hold/tmp"
touch "$maildir/.Hold/maildirfolder"
chown -R vmail:vmail "$maildir/.Hold" 2>/dev/null || true

echo "== sync, one decided closure, and the digest to Jane's Inbox"
candor sync >/dev/null
candor candidate close kai.mueller@candidates.example --outcome position_filled >/dev/null
candor digest --send

# The digest lands in Jane's Maildir (LMTP); wait for it, then take its HTML part.
html=$work/digest.html
for _ in $(seq 1 200); do
    file=$(grep -l '^X-Candor: kind=digest;' "$maildir"/new/* "$maildir"/cur/* 2>/dev/null | head -n 1 || true)
    [ -n "$file" ] && break
    sleep 0.1
done
[ -n "${file:-}" ] || { echo "no digest arrived in $maildir" >&2; exit 1; }
python3 - "$file" "$html" <<'PY'
import email, email.policy, sys
message = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
assert message.get_content_type() == "multipart/alternative", message.get_content_type()
part = message.get_body(preferencelist=("html",))
assert part is not None, "no HTML part"
open(sys.argv[2], "w", encoding="utf-8").write(part.get_content())
PY

echo "== rendering with headless chromium"
profile=$work/chromium-profile
mkdir -p "$profile" "$(dirname "$out")"
shot=$work/digest.png
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --user-data-dir="$profile" \
    --screenshot="$shot" --window-size=900,1400 "file://$html" >"$work/chromium.log" 2>&1 || {
    cat "$work/chromium.log" >&2
    exit 1
}

# Not blank: decode the PNG (8-bit RGB/RGBA, any filter) and count distinct colours and the share
# of pixels that are not the background.
python3 - "$shot" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, width = 8, b"", 0
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    if kind == b"IHDR":
        width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth} {colour}"
        bpp = 3 if colour == 2 else 4
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
raw = zlib.decompress(idat)
stride = width * bpp
previous = bytearray(stride)
pixels = {}
for row in range(height):
    start = row * (stride + 1)
    kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b = previous[i]
        c = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + a) & 255
        elif kind == 2:
            line[i] = (line[i] + b) & 255
        elif kind == 3:
            line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, bpp):
        key = bytes(line[x:x + 3])
        pixels[key] = pixels.get(key, 0) + 1
    previous = line
total = width * height
background = max(pixels.values())
print(f"{width}x{height}, {len(pixels)} colours, {100 * (total - background) / total:.1f}% not background")
assert len(pixels) >= 50, "too few colours: blank or broken render"
assert total - background >= total // 20, "almost everything is background: blank render"
PY
cp "$shot" "$out"
echo "== wrote $out"
