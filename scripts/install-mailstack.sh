#!/bin/sh
# Installs what candor's loopback mail stack needs (Dovecot IMAP + LMTP, Postfix, openssl) and
# the vmail user that owns the Maildirs. Idempotent: does nothing when all of it is present.
set -eu

present() {
    command -v dovecot >/dev/null 2>&1 &&
        [ -x /usr/sbin/postfix ] &&
        command -v openssl >/dev/null 2>&1 &&
        [ -x /usr/lib/dovecot/lmtp ] &&
        [ -f /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] &&
        id vmail >/dev/null 2>&1
}

if present; then
    echo "mail stack prerequisites present: dovecot, postfix, openssl, dovecot lmtp, sieve, vmail user"
    exit 0
fi

APT='apt-get -o DPkg::Lock::Timeout=300'
if [ "$(id -u)" -ne 0 ]; then
    echo "missing mail stack prerequisites; run as root:" >&2
    cat >&2 <<EOC
$APT update
DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends dovecot-imapd dovecot-lmtpd dovecot-sieve openssl
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends postfix
id vmail >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vmail
EOC
    exit 1
fi

if ! { command -v dovecot && [ -x /usr/sbin/postfix ] && command -v openssl && [ -x /usr/lib/dovecot/lmtp ] && [ -f /usr/lib/dovecot/modules/lib90_sieve_plugin.so ]; } >/dev/null 2>&1; then
    $APT update
    DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends dovecot-imapd dovecot-lmtpd dovecot-sieve openssl
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends postfix
fi
if ! id vmail >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vmail
fi
present && echo "mail stack prerequisites installed"
