//! Shared helpers of the integration tests: configs pointing at a test stack, running the
//! `candor` binary, polling for a condition with a generous deadline (never a fixed sleep).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use candor::testkit::{MailStack, StackUser};

/// A candor configuration file in its own directory, with the store beside it.
pub struct TestConfig {
    /// Holds the directory (config, passwords, store) until the test ends.
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// One `[[account]]` section for `user` on `stack`, reading over implicit TLS trusting the
/// stack's CA; `extra` is appended inside the account (e.g. a `[account.scope]` table).
pub fn account_toml(
    stack: &MailStack,
    name: &str,
    user: &StackUser,
    dir: &Path,
    extra: &str,
) -> String {
    let password_file = dir.join(format!("{name}.password"));
    std::fs::write(&password_file, &user.password).unwrap();
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let domain = user.address.split('@').nth(1).unwrap_or("agency.example");
    // Digests land in the owner's INBOX and would change the counts most tests look at: off,
    // unless the test configures them.
    let digest_off = if extra.contains("[account.digest]") {
        ""
    } else {
        "\n[account.digest]\nschedule = \"off\"\n"
    };
    format!(
        r#"
[[account]]
name = "{name}"
owner_name = "Test Owner {name}"
owner_addresses = ["{address}"]
internal_domains = ["{domain}"]
timezone = "Europe/Berlin"
mode = "dry-run"

[account.imap]
host = "127.0.0.1"
port = {imaps}
tls = "implicit"
username = "{username}"
password_file = "{password_file}"
ca_file = "{ca}"

[account.smtp]
host = "127.0.0.1"
port = {smtp}
tls = "starttls"
username = "{username}"
password_file = "{password_file}"
ca_file = "{ca}"
{extra}{digest_off}
"#,
        address = user.address,
        imaps = stack.imaps_port(),
        username = user.username,
        password_file = password_file.display(),
        ca = stack.ca_file().display(),
        smtp = stack.smtp_port(),
    )
}

/// Writes a configuration with the given account sections.
pub fn write_config(accounts: &[&dyn Fn(&Path) -> String]) -> TestConfig {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "[storage]\npath = \"{}\"\n\n[logging]\nlevel = \"info\"\n",
        dir.path().join("candor.db").display()
    );
    for account in accounts {
        text.push_str(&account(dir.path()));
    }
    let path = dir.path().join("candor.toml");
    let mut file = std::fs::File::create(&path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    TestConfig { _dir: dir, path }
}

/// Runs `candor --config <config> ARGS...` to completion.
pub fn candor(config: &TestConfig, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .arg("--config")
        .arg(&config.path)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `candor stats --json`, parsed, for the account named `name`.
pub fn stats(config: &TestConfig, name: &str) -> serde_json::Value {
    let out = candor(config, &["stats", "--json"]);
    assert!(out.status.success(), "stats failed: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    json["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no account {name} in {json}"))
}

/// Polls `condition` every 50 ms until it holds or `deadline` passes; returns whether it held
/// and how long it took.
pub fn wait_until(deadline: Duration, mut condition: impl FnMut() -> bool) -> (bool, Duration) {
    let start = Instant::now();
    loop {
        if condition() {
            return (true, start.elapsed());
        }
        if start.elapsed() > deadline {
            return (false, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A plain RFC 5322 message.
pub fn message(
    from: &str,
    to: &str,
    subject: &str,
    id: &str,
    date: jiff::Timestamp,
    extra_headers: &str,
    body: &str,
) -> Vec<u8> {
    let date =
        jiff::fmt::rfc2822::to_string(&date.to_zoned_datetime(jiff::tz::TimeZone::UTC)).unwrap();
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: {date}\r\n{extra_headers}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// Rewrites the account's mode in its configuration file (`from` must be there).
pub fn switch_mode(config: &TestConfig, from: &str, to: &str) {
    let toml = std::fs::read_to_string(&config.path).unwrap();
    let switched = toml.replace(&format!("mode = \"{from}\""), &format!("mode = \"{to}\""));
    assert_ne!(toml, switched, "the config has mode = {from:?}");
    std::fs::write(&config.path, switched).unwrap();
}
