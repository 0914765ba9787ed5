//! Passwords: the `Secret` newtype that never prints, and the three ways to obtain one
//! (literal, file, command), resolved at connect time rather than at load time.

use std::fmt;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// A password or token. `Debug` and `Display` print `***` so it cannot leak into logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for the one place that hands it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Where a server's password (or XOAUTH2 token) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// `password = "..."`: allowed only in a file not readable by group or others.
    Literal(Secret),
    /// `password_file`: environment variables already expanded at load time.
    File(PathBuf),
    /// `password_command`: run through `sh -c` each time the password is needed.
    Command(String),
}

impl PasswordSource {
    /// Obtains the secret. Blocking (reads a file or runs a command): call it off the async
    /// workers. A file's content loses one trailing newline; a command's stdout is trimmed.
    /// Errors never contain the output of the command or the content of the file.
    pub fn resolve(&self) -> anyhow::Result<Secret> {
        match self {
            PasswordSource::Literal(secret) => Ok(secret.clone()),
            PasswordSource::File(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("password_file: cannot read {}", path.display()))?;
                let trimmed = text
                    .strip_suffix("\r\n")
                    .or_else(|| text.strip_suffix('\n'))
                    .unwrap_or(&text);
                if trimmed.is_empty() {
                    bail!("password_file: {} is empty", path.display());
                }
                Ok(Secret::new(trimmed))
            }
            PasswordSource::Command(command) => run_password_command(command),
        }
    }
}

fn run_password_command(command: &str) -> anyhow::Result<Secret> {
    // stderr is inherited: it carries the tool's diagnostics (gpg, pass), never the secret.
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("password_command: cannot run sh")?;
    if !output.status.success() {
        bail!("password_command failed ({})", output.status);
    }
    let Ok(text) = String::from_utf8(output.stdout) else {
        bail!("password_command printed something that is not UTF-8");
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        bail!("password_command printed nothing");
    }
    Ok(Secret::new(trimmed))
}
