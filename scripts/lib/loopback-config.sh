# Sourced by the scripts that run candor against a stack started with `candor-stack start`,
# once its stack.env (IMAP_PORT, IMAPS_PORT, SMTP_PORT, CA_FILE) is sourced.

# write_loopback_config STORE CONFIG NAME OWNER_NAME USER PASSWORD_FILE
# Writes CONFIG (owner-only): one dry-run account NAME reading USER's mailbox over implicit TLS
# and sending over STARTTLS, as the integration tests configure it, its store at STORE.
# With LOOPBACK_IMAP_TLS=none the account reads over plain IMAP (IMAP_PORT), which candor allows
# on loopback hosts only.
write_loopback_config() {
    local imap_port=$IMAPS_PORT imap_tls=implicit
    if [ "${LOOPBACK_IMAP_TLS:-implicit}" = none ]; then
        imap_port=$IMAP_PORT imap_tls=none
    fi
    (umask 077 && cat >"$2") <<TOML
[storage]
path = "$1"

[logging]
level = "warn"

[[account]]
name = "$3"
owner_name = "$4"
owner_addresses = ["$5"]
internal_domains = ["agency.example"]
timezone = "Europe/Berlin"
mode = "dry-run"

[account.imap]
host = "127.0.0.1"
port = $imap_port
tls = "$imap_tls"
username = "$5"
password_file = "$6"
ca_file = "$CA_FILE"

[account.smtp]
host = "127.0.0.1"
port = $SMTP_PORT
tls = "starttls"
username = "$5"
password_file = "$6"
ca_file = "$CA_FILE"
TOML
}
