//! The key names of every table (SPEC §13 plus the documented additions). The walker rejects
//! keys missing from these lists, and `known_keys()` is derived from them, so the example file's
//! test and the validator cannot drift apart.

use std::sync::OnceLock;

pub(super) const ROOT: &[&str] = &["storage", "logging", "account"];
pub(super) const STORAGE: &[&str] = &["path", "retention_days"];
pub(super) const LOGGING: &[&str] = &["level", "format"];
pub(super) const ACCOUNT: &[&str] = &[
    "name",
    "owner_name",
    "owner_addresses",
    "internal_domains",
    "timezone",
    "mode",
    "signature",
    "imap",
    "smtp",
    "folders",
    "scope",
    "policy",
    "schedule",
    "digest",
];
pub(super) const IMAP: &[&str] = &[
    "host",
    "port",
    "tls",
    "auth",
    "username",
    "password",
    "password_file",
    "password_command",
    "ca_file",
];
pub(super) const SMTP: &[&str] = &[
    "host",
    "port",
    "tls",
    "auth",
    "username",
    "password",
    "password_file",
    "password_command",
    "ca_file",
    "server_saves_sent",
];
pub(super) const FOLDERS: &[&str] = &["sent", "drafts", "hold", "outcomes"];
pub(super) const OUTCOMES: &[&str] = &[
    "position_filled",
    "not_selected",
    "no_current_role",
    "withdrawn",
];
pub(super) const SCOPE: &[&str] = &["mode", "folders", "exclude", "aliases"];
pub(super) const POLICY: &[&str] = &[
    "act_on_existing",
    "follow_up_after_days",
    "max_follow_ups",
    "closure_after_days",
    "cancel_window_hours",
    "recruiter_sla_days",
    "closing_phrases",
    "opt_out_phrases",
];
pub(super) const SCHEDULE: &[&str] = &[
    "business_days",
    "work_hours",
    "send_hours",
    "holidays",
    "daily_cap",
];
pub(super) const DIGEST: &[&str] = &["schedule", "at", "day", "to"];

/// Each table's dotted path (array indices left out) and its keys.
const TABLES: &[(&str, &[&str])] = &[
    ("", ROOT),
    ("storage", STORAGE),
    ("logging", LOGGING),
    ("account", ACCOUNT),
    ("account.imap", IMAP),
    ("account.smtp", SMTP),
    ("account.folders", FOLDERS),
    ("account.folders.outcomes", OUTCOMES),
    ("account.scope", SCOPE),
    ("account.policy", POLICY),
    ("account.schedule", SCHEDULE),
    ("account.digest", DIGEST),
];

pub(super) fn known_keys() -> Vec<&'static str> {
    static KNOWN: OnceLock<Vec<&'static str>> = OnceLock::new();
    KNOWN
        .get_or_init(|| {
            let mut out = Vec::new();
            for (prefix, keys) in TABLES {
                for key in *keys {
                    let full = if prefix.is_empty() {
                        (*key).to_owned()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    if TABLES.iter().any(|(table, _)| *table == full) {
                        continue;
                    }
                    // Built once per process: leaking gives the `&'static str` the API promises.
                    out.push(&*Box::leak(full.into_boxed_str()));
                }
            }
            out
        })
        .clone()
}
