//! `[account.imap]` and `[account.smtp]`: host, port, TLS, authentication and the password source.

use std::path::{Path, PathBuf};

use super::reader::{Ctx, Section, Val};
use super::secret::{PasswordSource, Secret};
use super::values::{check_host, expand_env, is_loopback_host};
use super::{AuthMethod, Server, TlsMode};

/// Which of the two servers a table describes: they differ in defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ServerKind {
    Imap,
    Smtp,
}

impl ServerKind {
    fn default_tls(self) -> TlsMode {
        match self {
            ServerKind::Imap => TlsMode::Implicit,
            ServerKind::Smtp => TlsMode::Starttls,
        }
    }

    fn default_port(self, tls: TlsMode) -> u32 {
        match (self, tls) {
            (ServerKind::Imap, TlsMode::Implicit) => 993,
            (ServerKind::Imap, _) => 143,
            (ServerKind::Smtp, TlsMode::Implicit) => 465,
            (ServerKind::Smtp, TlsMode::Starttls) => 587,
            (ServerKind::Smtp, TlsMode::None) => 25,
        }
    }
}

/// Builds one server; `default_username` is the IMAP username for SMTP, `None` for IMAP
/// (where `username` is required). Returns `None` only when a required part is unusable.
pub(super) fn build_server(
    ctx: &mut Ctx<'_>,
    section: &Section<'_, '_>,
    kind: ServerKind,
    default_username: Option<&str>,
) -> Option<Server> {
    let host = section.required_string(ctx, "host", "the server's host name");
    let mut host_ok = host.is_some();
    if let Some(host) = &host
        && let Err(message) = check_host(&host.value)
    {
        ctx.report_at(host, message);
        host_ok = false;
    }
    let tls = section.choice::<TlsMode>(ctx, "tls");
    // A host that is no host name has its own problem: "not a loopback host" would mislead.
    if let (Some(tls), Some(host), true) = (&tls, &host, host_ok)
        && tls.value == TlsMode::None
        && !is_loopback_host(&host.value)
    {
        ctx.report_at(
            tls,
            format!(
                "tls = \"none\" is allowed only for loopback hosts (localhost, 127.0.0.0/8, ::1), \
                 not {:?}: use implicit or starttls",
                host.value
            ),
        );
    }
    let tls = tls.map_or(kind.default_tls(), |t| t.value);
    let port = section.number(ctx, "port", 1, 65535, kind.default_port(tls));
    let auth = section
        .choice::<AuthMethod>(ctx, "auth")
        .map_or(AuthMethod::Login, |a| a.value);
    let username = match default_username {
        None => section
            .required_string(ctx, "username", "the login name")
            .map(|u| u.value),
        Some(fallback) => Some(
            section
                .string(ctx, "username")
                .map_or_else(|| fallback.to_owned(), |u| u.value),
        ),
    };
    // Only a username written here is checked: an inherited empty one is IMAP's problem.
    if let Some(written) = section.raw("username")
        && username.as_ref().is_some_and(|name| name.trim().is_empty())
    {
        ctx.report_at(&written, "the username is empty");
    }
    let password = password_source(ctx, section);
    // Read now, so that check-config and a reload see what every connection would meet: found
    // in review, a misspelt ca_file passed check-config and failed each connection. Only a
    // regular file is read (a FIFO or a device would never end).
    let ca_file = section.string(ctx, "ca_file").and_then(|v| {
        let path = expand_path(ctx, &v)?;
        let problem = match std::fs::metadata(&path) {
            Ok(meta) if !meta.is_file() => Some(format!(
                "the CA file {} is not a regular file",
                path.display()
            )),
            _ => crate::tls::read_ca_file(&path)
                .err()
                .map(|err| format!("{err:#}")),
        };
        if let Some(problem) = problem {
            ctx.report_at(&v, problem);
        }
        Some(path)
    });
    Some(Server {
        host: host?.value,
        port: u16::try_from(port).unwrap_or(0),
        tls,
        auth,
        username: username?,
        password: password?,
        ca_file,
    })
}

/// Exactly one of `password`, `password_file`, `password_command`.
fn password_source(ctx: &mut Ctx<'_>, section: &Section<'_, '_>) -> Option<PasswordSource> {
    let literal = section.string(ctx, "password");
    let file = section.string(ctx, "password_file");
    let command = section.string(ctx, "password_command");
    let mut present: Vec<&Val<String>> =
        [&literal, &file, &command].into_iter().flatten().collect();
    // Reported at the second source in file order: the line the user added last, probably.
    present.sort_by_key(|v| v.span.start);
    if present.is_empty() {
        ctx.report(
            &section.span.clone(),
            &section.key_path("password"),
            "no password source: set one of password_command, password_file or password \
             (each server needs its own)",
        );
        return None;
    }
    if present.len() > 1 {
        let names: Vec<&str> = present.iter().map(|v| last_segment(&v.key)).collect();
        let second = present[1];
        ctx.report_at(
            second,
            format!(
                "more than one password source ({}): keep exactly one",
                names.join(", ")
            ),
        );
        return None;
    }
    if let Some(literal) = literal {
        if !ctx.file_private {
            let message = format!(
                "a literal password needs a private config file: run chmod 600 {}, or use \
                 password_file or password_command",
                ctx.file.display()
            );
            ctx.report_at(&literal, message);
        }
        if literal.value.is_empty() {
            ctx.report_at(&literal, "the password is empty");
        }
        return Some(PasswordSource::Literal(Secret::new(literal.value)));
    }
    if let Some(file) = file {
        return expand_path(ctx, &file).map(PasswordSource::File);
    }
    let command = command?;
    if command.value.trim().is_empty() {
        ctx.report_at(&command, "the command is empty");
        return None;
    }
    Some(PasswordSource::Command(command.value))
}

fn last_segment(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// Expands `${VAR}`/`$VAR`; a relative result is taken relative to the config file's directory
/// (a daemon's working directory is `/`, so nothing else would be predictable).
pub(super) fn expand_path(ctx: &mut Ctx<'_>, val: &Val<String>) -> Option<PathBuf> {
    if val.value.trim().is_empty() {
        ctx.report_at(val, "the path is empty");
        return None;
    }
    // No shell reads it: found in review, `~/candor.db` became a directory named `~` beside the
    // configuration file (and `~/.imap-password` a file candor could not find at connect time).
    if val.value.starts_with('~') {
        ctx.report_at(
            val,
            "\"~\" is not expanded: write ${HOME}/... or an absolute path",
        );
        return None;
    }
    match expand_env(&val.value, ctx.env) {
        Ok(expanded) => Some(relative_to_config(ctx.file, Path::new(&expanded))),
        Err(message) => {
            let hint = if message.contains("CREDENTIALS_DIRECTORY") {
                " (systemd sets it for units with LoadCredential=)"
            } else {
                ""
            };
            ctx.report_at(val, format!("{message}{hint}"));
            None
        }
    }
}

pub(super) fn relative_to_config(config_file: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match config_file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(path),
        _ => path.to_path_buf(),
    }
}
