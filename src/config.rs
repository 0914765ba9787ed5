//! The configuration: TOML text → a validated, typed `Config` (SPEC §13), with every problem of
//! the file reported at once as `FILE:LINE: KEY: MESSAGE`.
//!
//! The document is walked through its spans (`reader`), each table checked against the key lists
//! of `keys` (the same lists `known_keys()` and the `config.example.toml` test use), values checked
//! by `values`, and accounts assembled by `account` and `server`. A problem never stops the walk:
//! the walker records it, substitutes the default and goes on; `Err` carries them all.

mod account;
mod keys;
mod reader;
mod secret;
mod sections;
mod server;
#[cfg(test)]
mod tests;
pub(crate) mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;

pub use secret::{PasswordSource, Secret, stop_password_commands};

/// One thing wrong with the configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// Dotted path such as `account[0].imap.port` (accounts by 0-based index), or `syntax` for a
    /// TOML syntax error.
    pub key: String,
    /// Lowercase, no trailing period.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        write!(f, "{file}:{}: {}: {}", self.line, self.key, self.message)
    }
}

/// Every problem found in one pass, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Enumerations whose values are fixed strings in the file.
pub(crate) trait Choice: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn as_str(self) -> &'static str;
}

macro_rules! choice_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// The spelling used in the configuration file.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl Choice for $name {
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        }
    };
}

choice_enum!(
    /// `logging.level`.
    LogLevel { Error => "error", Warn => "warn", Info => "info", Debug => "debug" }
);
choice_enum!(
    /// `logging.format`.
    LogFormat { Text => "text", Json => "json" }
);
choice_enum!(
    /// What the account may do with due emails (SPEC §7 gate 6).
    Mode { Auto => "auto", Drafts => "drafts", DryRun => "dry-run" }
);
choice_enum!(
    /// `tls` of a server; `None` only for loopback hosts.
    TlsMode { Implicit => "implicit", Starttls => "starttls", None => "none" }
);
choice_enum!(
    /// `auth` of a server; for XOAUTH2 the password source yields the token.
    AuthMethod { Login => "login", Xoauth2 => "xoauth2" }
);
choice_enum!(
    /// Closure outcomes (SPEC §6), keys of `folders.outcomes`.
    Outcome {
        PositionFilled => "position_filled",
        NotSelected => "not_selected",
        NoCurrentRole => "no_current_role",
        Withdrawn => "withdrawn",
    }
);
choice_enum!(
    /// Who may receive automated mail (SPEC §4).
    ScopeMode { Folders => "folders", Explicit => "explicit", All => "all" }
);
choice_enum!(
    /// `digest.schedule`.
    DigestSchedule { Daily => "daily", Weekly => "weekly", Off => "off" }
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The file this came from (templates live beside it, SPEC §9).
    pub source: PathBuf,
    pub storage: Storage,
    pub logging: Logging,
    pub accounts: Vec<Account>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    pub path: PathBuf,
    pub retention_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    pub level: LogLevel,
    pub format: LogFormat,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub owner_name: String,
    /// Lowercased.
    pub owner_addresses: Vec<String>,
    /// Lowercased.
    pub internal_domains: Vec<String>,
    pub timezone: jiff::tz::TimeZone,
    pub timezone_name: String,
    pub mode: Mode,
    pub signature: String,
    pub imap: Server,
    pub smtp: Smtp,
    pub folders: Folders,
    pub scope: Scope,
    pub policy: Policy,
    pub schedule: Schedule,
    pub digest: Digest,
}

impl Account {
    /// The IMAP password, with the account and key named in the error. Blocking.
    pub fn imap_password(&self) -> anyhow::Result<Secret> {
        let key = self.imap.password.key_name();
        self.imap
            .password
            .resolve()
            .with_context(|| format!("account {}: account.imap.{key}", self.name))
    }

    /// The SMTP password, with the account and key named in the error. Blocking.
    pub fn smtp_password(&self) -> anyhow::Result<Secret> {
        let key = self.smtp.server.password.key_name();
        self.smtp
            .server
            .password
            .resolve()
            .with_context(|| format!("account {}: account.smtp.{key}", self.name))
    }
}

impl PasswordSource {
    /// The configuration key this source came from.
    pub fn key_name(&self) -> &'static str {
        match self {
            PasswordSource::Literal(_) => "password",
            PasswordSource::File(_) => "password_file",
            PasswordSource::Command(_) => "password_command",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub auth: AuthMethod,
    pub username: String,
    pub password: PasswordSource,
    /// An extra trust anchor (PEM) for self-hosted servers; verification is never skipped.
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smtp {
    pub server: Server,
    /// The server files submissions in Sent itself: do not APPEND, reconcile by searching Sent.
    pub server_saves_sent: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Folders {
    /// `None`: found by SPECIAL-USE `\Sent` at connect time.
    pub sent: Option<String>,
    /// `None`: found by SPECIAL-USE `\Drafts` at connect time.
    pub drafts: Option<String>,
    pub hold: Option<String>,
    pub outcomes: BTreeMap<Outcome, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub mode: ScopeMode,
    /// Whether `scope.mode` was written in the file (required for `mode = "auto"`).
    pub mode_explicit: bool,
    pub folders: Vec<String>,
    /// Lowercased addresses and domains.
    pub exclude: Vec<String>,
    /// Groups of lowercased addresses that are one candidate.
    pub aliases: Vec<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub act_on_existing: bool,
    pub follow_up_after_days: u32,
    pub max_follow_ups: u32,
    pub closure_after_days: u32,
    pub cancel_window_hours: u32,
    pub recruiter_sla_days: u32,
    /// Extra phrases (besides the built-in ones) that make an owner's message read as a closing.
    pub closing_phrases: Vec<String>,
    /// Extra phrases (besides the built-in ones) that read as a clear opt-out.
    pub opt_out_phrases: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub business_days: Vec<jiff::civil::Weekday>,
    pub work_hours: TimeRange,
    pub send_hours: TimeRange,
    pub holidays: Vec<jiff::civil::Date>,
    pub daily_cap: u32,
}

/// A daily window in local time, `[start, end)` in minutes since midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_minute: u16,
    /// Up to 1440 (`24:00`).
    pub end_minute: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub schedule: DigestSchedule,
    pub at: jiff::civil::Time,
    /// Used only when `schedule` is weekly.
    pub day: jiff::civil::Weekday,
    pub to: String,
}

/// Reads and validates the configuration file. A literal `password` is accepted only when the
/// file is not readable by group or others.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let whole_file = |message: String| ConfigErrors {
        problems: vec![Problem {
            file: path.to_path_buf(),
            line: 1,
            key: "file".to_owned(),
            message,
        }],
    };
    let bytes = std::fs::read(path)
        .map_err(|e| whole_file(format!("cannot read the configuration file: {e}")))?;
    // Found in review: a file saved in Latin-1 was reported at line 1 whatever line held the
    // first é.
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        ConfigErrors {
            problems: vec![Problem {
                file: path.to_path_buf(),
                line,
                key: "file".to_owned(),
                message: "this line is not UTF-8 text: save the file as UTF-8".to_owned(),
            }],
        }
    })?;
    let metadata = std::fs::metadata(path)
        .map_err(|e| whole_file(format!("cannot read the file's permissions: {e}")))?;
    parse_str(&text, path, is_private(&metadata))
}

#[cfg(unix)]
fn is_private(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o044 == 0
}

#[cfg(not(unix))]
fn is_private(_metadata: &std::fs::Metadata) -> bool {
    false
}

/// Validates configuration text as if read from `path`; `file_private` = not readable by group
/// or others. Environment variables come from the process environment.
pub fn parse_str(text: &str, path: &Path, file_private: bool) -> Result<Config, ConfigErrors> {
    parse_with_env(text, path, file_private, &|name| std::env::var(name).ok())
}

/// The account `jane` of a test: plain IMAP and SMTP on loopback at the given ports, the
/// password from `echo pw`, `mode` as given, then the `extra` sections.
#[cfg(test)]
pub(crate) fn loopback_account(mode: &str, imap_port: u16, smtp_port: u16, extra: &str) -> Account {
    let text = format!(
        "[[account]]\nname = \"jane\"\nowner_name = \"J\"\nowner_addresses = [\"jane@a.example\"]\n\
         timezone = \"UTC\"\nmode = \"{mode}\"\n[account.imap]\nhost = \"127.0.0.1\"\nport = {imap_port}\n\
         tls = \"none\"\nusername = \"u\"\npassword_command = \"echo pw\"\n[account.smtp]\n\
         host = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\nusername = \"u\"\npassword_command = \"echo pw\"\n{extra}"
    );
    parse_str(&text, Path::new("/tmp/candor.toml"), true)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .accounts
        .remove(0)
}

/// `parse_str` with an injected environment, so tests need not change the process's.
pub(crate) fn parse_with_env(
    text: &str,
    path: &Path,
    file_private: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut ctx = reader::Ctx::new(text, path, file_private, env);
    let config = account::build_config(&mut ctx, text);
    let mut problems = ctx.problems;
    // What the parser made of a line it could not read is no value the user wrote: the syntax
    // error is that line's one problem.
    let broken: std::collections::BTreeSet<usize> = problems
        .iter()
        .filter(|p| p.key == "syntax")
        .map(|p| p.line)
        .collect();
    problems.retain(|p| p.key == "syntax" || !broken.contains(&p.line));
    // The parser's recovery can repeat one error (an unclosed bracket per nesting level).
    let mut seen = std::collections::BTreeSet::new();
    problems.retain(|p| seen.insert((p.line, p.key.clone(), p.message.clone())));
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => {
            // Stable: problems on one line keep the order in which they were found.
            problems.sort_by_key(|p| p.line);
            Err(ConfigErrors { problems })
        }
    }
}

/// Every key the validator knows, as dotted paths without indices
/// (`account.imap.password_file`, `account.folders.outcomes.withdrawn`); tables are not listed.
pub fn known_keys() -> Vec<&'static str> {
    keys::known_keys()
}
