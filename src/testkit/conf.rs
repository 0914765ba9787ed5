//! Configuration files of one stack instance: `dovecot.conf`, Postfix `main.cf` and `master.cf`.
//!
//! Settings follow the notes measured on Debian 12 (Dovecot 2.3.19, Postfix 3.7.11); each one
//! that is not obvious says why it is there.

use std::path::Path;

use super::Ports;

/// The environment variable that marks every server process of a stack with the stack's
/// directory; both masters pass it on to their children through `import_environment`.
pub const STACK_ENV: &str = "CANDOR_STACK_DIR";

/// The whole `dovecot.conf` of one instance (self-contained: nothing from `/etc/dovecot`).
/// A stack in OAuth2 mode (see `oauth2`) also accepts XOAUTH2 and OAUTHBEARER.
pub fn dovecot_conf(dir: &Path, ports: &Ports) -> String {
    let d = dir.display();
    let oauth2 = super::oauth2::dovecot_fragment(dir);
    format!(
        r#"# Written by candor's testkit; one throwaway instance.
protocols = imap lmtp
listen = 127.0.0.1, 127.0.0.2
base_dir = {d}/run/dovecot
state_dir = {d}/state/dovecot
instance_name = {instance}
# Children inherit only listed variables; ours lets `stack_processes` find all of them.
import_environment = TZ CORE_OUTOFMEM CORE_ERROR {STACK_ENV}={d}
log_path = {d}/log/dovecot.log
info_log_path = {d}/log/dovecot.log
ssl = yes
ssl_cert = <{d}/tls/leaf.pem
ssl_key = <{d}/tls/leaf.key
auth_mechanisms = {mechanisms}
# A refused login names its cause in the log (unknown user, password mismatch): a test that
# fails on one prints the log's tail (see `MailStack`'s `Drop`).
auth_verbose = yes
# The `tls = "none"` loopback path of candor is tested too.
disable_plaintext_auth = no
# vmail is a system user (uid below the default 500).
first_valid_uid = 1
passdb {{
  driver = passwd-file
{password_mechanisms}  args = scheme=PLAIN username_format=%u {d}/dovecot/users
}}
{oauth2}userdb {{
  driver = static
  args = uid=vmail gid=vmail home={d}/mail/%u
}}
mail_location = maildir:~/Maildir
# Tests only: 30-70x faster seeding and delivery.
mail_fsync = never
# Folders are created directly on disk by `seed`; without a list index Dovecot sees them at once.
mailbox_list_index = no
namespace inbox {{
  inbox = yes
  mailbox Sent {{
    special_use = \Sent
    auto = subscribe
  }}
  mailbox Drafts {{
    special_use = \Drafts
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \Trash
    auto = subscribe
  }}
}}
service imap-login {{
  # 127.0.0.2 too: the certificate does not name it, so tests can check host-name verification.
  inet_listener imap {{
    address = 127.0.0.1, 127.0.0.2
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1, 127.0.0.2
    port = {imaps}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
protocol lmtp {{
  postmaster_address = postmaster@localhost
{lmtp_plugins}}}
{sieve}service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
# Without this every login from 127.0.0.1 waits 2-15 s after any wrong-password test.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"#,
        instance = super::process::instance_name(dir),
        mechanisms = if oauth2.is_some() {
            "plain login xoauth2 oauthbearer"
        } else {
            "plain login"
        },
        // With OAuth2 on, a token must never be compared with a password (and vice versa).
        password_mechanisms = if oauth2.is_some() {
            "  mechanisms = plain login\n"
        } else {
            ""
        },
        oauth2 = oauth2.as_deref().unwrap_or_default(),
        lmtp_plugins = if sieve_installed() {
            "  mail_plugins = $mail_plugins sieve\n"
        } else {
            ""
        },
        sieve = if sieve_installed() {
            sieve_fragment(ports)
        } else {
            String::new()
        },
        imap = ports.imap,
        imaps = ports.imaps,
        lmtp = ports.lmtp,
    )
}

/// Pigeonhole's LMTP plugin (Debian package `dovecot-sieve`). Without it a stack still runs, but
/// `MailStack::set_sieve_script` has no effect and says so.
pub const SIEVE_PLUGIN: &str = "/usr/lib/dovecot/modules/lib90_sieve_plugin.so";

pub fn sieve_installed() -> bool {
    Path::new(SIEVE_PLUGIN).exists()
}

/// Sieve at delivery: a user's `~/.dovecot.sieve` (see `MailStack::set_sieve_script`) runs in
/// LMTP. Vacation replies leave through Postfix's unauthenticated loopback listener on
/// 127.0.0.2 (see `postfix_master_cf`); `:seconds 0` is allowed so that a test's auto-responder
/// answers every message rather than once a day per sender.
fn sieve_fragment(ports: &Ports) -> String {
    format!(
        r#"plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_extensions = +vacation-seconds
  sieve_vacation_min_period = 0
  sieve_vacation_default_period = 0
}}
submission_host = 127.0.0.2:{smtp}
"#,
        smtp = ports.smtp
    )
}

/// Postfix `main.cf`: local delivery over LMTP into Dovecot, no outbound mail at all.
pub fn postfix_main_cf(dir: &Path, ports: &Ports, domains: &[String]) -> String {
    let d = dir.display();
    let destinations = domains.join(", ");
    format!(
        r#"# Written by candor's testkit; one throwaway instance.
compatibility_level = 3.6
queue_directory = {d}/spool/postfix
data_directory = {d}/lib/postfix
# There is no syslog here: without a log file Postfix errors are invisible.
maillog_file = {d}/log/postfix.log
maillog_file_prefixes = {d}/log
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C {STACK_ENV}={d}
myhostname = localhost
mydomain = localhost
myorigin = localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination = localhost, {destinations}
mynetworks = 127.0.0.0/8
local_transport = lmtp:inet:127.0.0.1:{lmtp}
# Any local address goes to Dovecot, which answers 550 5.1.1 for unknown users: a real DSN.
local_recipient_maps =
alias_maps =
alias_database =
default_transport = error:outbound delivery disabled
relay_transport = error:outbound delivery disabled
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
biff = no
append_dot_mydomain = no
smtpd_tls_cert_file = {d}/tls/leaf.pem
smtpd_tls_key_file = {d}/tls/leaf.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {d}/run/dovecot/auth-postfix
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
# `refuse_recipient` writes this map; a fresh smtpd (max_use=1 on the port) reads it.
smtpd_recipient_restrictions = check_recipient_access texthash:{d}/postfix/refusals
smtpd_error_sleep_time = 0s
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
delay_warning_time = 0h
"#,
        lmtp = ports.lmtp,
    )
}

/// Postfix `master.cf`: the submission port plus the standard services, none chrooted.
///
/// The same port on 127.0.0.2 is a second listener without AUTH that relays for loopback
/// clients only: Dovecot's Sieve vacation replies leave through it (Dovecot's `submission_host`
/// speaks plain SMTP without credentials), and since the certificate does not name 127.0.0.2,
/// tests also use it to check that candor refuses a server whose name does not match.
pub fn postfix_master_cf(ports: &Ports) -> String {
    // max_use=1: every connection gets a fresh smtpd, which reads the current refusal map.
    let mut out = format!(
        "# Written by candor's testkit.\n\
         127.0.0.1:{smtp} inet n - n - - smtpd -o smtpd_tls_security_level=encrypt -o max_use=1\n\
         127.0.0.2:{smtp} inet n - n - - smtpd -o smtpd_sasl_auth_enable=no \
         -o smtpd_tls_auth_only=no -o smtpd_tls_security_level=may \
         -o smtpd_relay_restrictions=permit_mynetworks,reject -o mynetworks=127.0.0.0/8\n",
        smtp = ports.smtp
    );
    // Debian's master.cf.proto with chroot `n`: the chroot would lack the instance's files.
    out.push_str(
        "pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
tlsmgr unix - - n 1000? 1 tlsmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
",
    );
    out
}
