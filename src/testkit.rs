//! The loopback Dovecot + Postfix stack for tests, the demo and benchmarks.
//!
//! One directory per instance holds everything (configs, TLS files, users, Maildirs, the Postfix
//! queue, logs); servers listen on free 127.0.0.1 ports. Dovecot serves IMAP (STARTTLS and
//! implicit TLS) and LMTP; Postfix takes submissions (STARTTLS required, AUTH through Dovecot)
//! and delivers over LMTP. Dropping a `MailStack` stops both servers and waits until every one
//! of their processes is gone. Facts behind the settings: `notes/mailstack.md` of the project.

pub mod certs;
pub mod client;
pub mod conf;
pub mod demo;
pub mod maildir;
pub mod oauth2;
pub mod process;
mod servers;
pub mod tls;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

pub use client::ImapTls;
use process::dir_0755;
pub use process::stack_processes;
use servers::{check_path, fresh_temp_dir, layout, require_root, write_atomically};

/// Domains Postfix treats as local unless the caller chooses others.
pub const DEFAULT_DOMAINS: &[&str] = &[
    "agency.example",
    "candidates.example",
    "client.example",
    "lists.example",
    "example.com",
];

/// How long a server may take to come up or go down before we call it broken.
const SERVER_TIMEOUT: Duration = Duration::from_secs(15);

/// The four ports of a stack, all on 127.0.0.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ports {
    pub imap: u16,
    pub imaps: u16,
    pub lmtp: u16,
    pub smtp: u16,
}

/// A mailbox user of the stack; `username` is the full address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackUser {
    pub address: String,
    pub username: String,
    pub password: String,
}

/// A message to put straight into a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedMessage {
    pub raw: Vec<u8>,
    pub internal_date: jiff::Timestamp,
    /// Maildir info flags, e.g. `"S"` for seen, `"RS"` for answered and seen.
    pub flags: String,
}

/// A message as read back over IMAP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub uid: u32,
    pub internal_date: jiff::Timestamp,
    /// IMAP flags, e.g. `\Seen`.
    pub flags: Vec<String>,
    pub raw: Vec<u8>,
}

/// A running Dovecot + Postfix pair; see the module docs.
#[derive(Debug)]
pub struct MailStack {
    dir: PathBuf,
    ports: Ports,
    domains: Vec<String>,
    vmail: (u32, u32),
    /// Throwaway stacks remove their directory when dropped (unless `CANDOR_STACK_KEEP` is set).
    remove_dir: bool,
    /// Set by `detach` and `stop`: Drop then leaves the servers alone.
    done: bool,
}

impl MailStack {
    /// A throwaway stack with the default domains in a fresh `candor-stack-XXXXXX` temp dir.
    pub fn start() -> anyhow::Result<MailStack> {
        Self::start_with_domains(DEFAULT_DOMAINS)
    }

    /// A throwaway stack for which Postfix accepts mail for `domains` (plus `localhost`).
    pub fn start_with_domains(domains: &[&str]) -> anyhow::Result<MailStack> {
        let dir = fresh_temp_dir()?;
        let mut stack = Self::start_in(&dir, domains)?;
        stack.remove_dir = std::env::var_os("CANDOR_STACK_KEEP").is_none();
        Ok(stack)
    }

    /// A throwaway stack that also accepts OAuth2 bearer tokens (XOAUTH2, OAUTHBEARER), validated
    /// locally by Dovecot's `oauth2` passdb; mint them with `oauth2_token`.
    pub fn start_with_oauth2() -> anyhow::Result<MailStack> {
        let dir = fresh_temp_dir()?;
        dir_0755(dir.join("dovecot"))?;
        oauth2::enable(&dir).context("setting up the OAuth2 mode")?;
        let mut stack = Self::start_in(&dir, DEFAULT_DOMAINS)?;
        stack.remove_dir = std::env::var_os("CANDOR_STACK_KEEP").is_none();
        Ok(stack)
    }

    /// A bearer token the stack accepts for `user` until `expires_at` (a past time gives an
    /// expired token). Fails unless the stack was started with `start_with_oauth2`.
    pub fn oauth2_token(
        &self,
        user: &StackUser,
        expires_at: jiff::Timestamp,
    ) -> anyhow::Result<String> {
        oauth2::token(
            &self.dir,
            &oauth2::Claims::for_user(&user.username, expires_at),
        )
    }

    /// A stack whose files live in `dir` (created if missing, must hold no running stack). The
    /// directory stays when the stack is dropped; call `detach` to leave the servers running.
    pub fn start_in(dir: &Path, domains: &[&str]) -> anyhow::Result<MailStack> {
        require_root()?;
        let dir = process::dir_0755(dir.to_path_buf())?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?;
        check_path(&dir)?;
        if !stack_processes(Some(&dir)).is_empty() {
            bail!("a stack is already running in {}", dir.display());
        }
        let vmail = process::ensure_vmail()?;
        let domains: Vec<String> = domains
            .iter()
            .map(|domain| domain.to_ascii_lowercase())
            .collect();
        layout(&dir, vmail)?;
        certs::make_certificates(&dir.join("tls")).context("making the test certificates")?;
        // Ports are free when picked but may be taken before the servers bind: try again.
        let mut last_error = None;
        for _attempt in 0..4 {
            let ports = Ports {
                imap: process::free_port()?,
                imaps: process::free_port()?,
                lmtp: process::free_port()?,
                smtp: process::free_port()?,
            };
            let stack = MailStack {
                dir: dir.clone(),
                ports,
                domains: domains.clone(),
                vmail,
                remove_dir: false,
                done: false,
            };
            stack.write_configs()?;
            match stack.start_dovecot().and_then(|()| stack.start_postfix()) {
                Ok(()) => return Ok(stack),
                Err(error) => {
                    // Drop stops whatever came up; the next attempt gets new ports.
                    drop(stack);
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow::anyhow!("no attempt made")))
            .context("starting the mail stack")
    }

    /// Reconnects to a stack started earlier in `dir` (e.g. by `candor-stack start`). The
    /// returned value is detached: dropping it leaves the servers running.
    pub fn attach(dir: &Path) -> anyhow::Result<MailStack> {
        let dir = dir
            .canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?;
        let state = std::fs::read_to_string(dir.join("stack.state"))
            .with_context(|| format!("no stack state in {} (not started there?)", dir.display()))?;
        let field = |key: &str| -> anyhow::Result<String> {
            state
                .lines()
                .find_map(|line| line.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
                .with_context(|| format!("stack.state lacks {key}"))
        };
        let port = |key: &str| -> anyhow::Result<u16> {
            field(key)?
                .parse()
                .with_context(|| format!("stack.state: bad {key}"))
        };
        let ports = Ports {
            imap: port("imap")?,
            imaps: port("imaps")?,
            lmtp: port("lmtp")?,
            smtp: port("smtp")?,
        };
        let domains = field("domains")?
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Ok(MailStack {
            dir,
            ports,
            domains,
            vmail: process::ensure_vmail()?,
            remove_dir: false,
            done: true,
        })
    }

    /// Leaves the servers running when this value is dropped (the `candor-stack` CLI).
    pub fn detach(mut self) {
        self.done = true;
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn ports(&self) -> Ports {
        self.ports
    }
    pub fn imap_port(&self) -> u16 {
        self.ports.imap
    }
    pub fn imaps_port(&self) -> u16 {
        self.ports.imaps
    }
    pub fn smtp_port(&self) -> u16 {
        self.ports.smtp
    }
    pub fn lmtp_port(&self) -> u16 {
        self.ports.lmtp
    }
    pub fn domains(&self) -> &[String] {
        &self.domains
    }
    /// PEM of the throwaway CA that signed the servers' certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("tls/ca.pem")
    }

    /// Adds a user with a generated password; live at once (Dovecot re-reads the passwd-file).
    pub fn add_user(&self, address: &str) -> anyhow::Result<StackUser> {
        let address = address.trim().to_ascii_lowercase();
        let valid = address.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        }) && !address
            .contains(|c: char| c == ':' || c == '/' || c.is_whitespace() || c.is_control());
        if !valid {
            bail!("unsupported address {address:?}");
        }
        if self.users()?.iter().any(|user| user.address == address) {
            bail!("user {address} exists already");
        }
        let password: String = rand::Rng::sample_iter(rand::rng(), rand::distr::Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        maildir::create_home(&self.dir.join("mail"), &address, self.vmail)?;
        let line = format!("{address}:{{PLAIN}}{password}::::::\n");
        let users = self.dir.join("dovecot/users");
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&users)
            .with_context(|| format!("opening {}", users.display()))?;
        std::io::Write::write_all(&mut file, line.as_bytes())
            .with_context(|| format!("writing {}", users.display()))?;
        Ok(StackUser {
            username: address.clone(),
            address,
            password,
        })
    }

    /// Every user, in the order they were added.
    pub fn users(&self) -> anyhow::Result<Vec<StackUser>> {
        let users = self.dir.join("dovecot/users");
        let text = std::fs::read_to_string(&users)
            .with_context(|| format!("reading {}", users.display()))?;
        Ok(text
            .lines()
            .filter_map(|line| {
                let (name, rest) = line.split_once(':')?;
                let password = rest.strip_prefix("{PLAIN}")?.split(':').next()?;
                Some(StackUser {
                    address: name.to_owned(),
                    username: name.to_owned(),
                    password: password.to_owned(),
                })
            })
            .collect())
    }

    /// Writes `messages` as Maildir files into `folder` (created and subscribed if needed).
    pub fn seed(
        &self,
        user: &StackUser,
        folder: &str,
        messages: &[SeedMessage],
    ) -> anyhow::Result<()> {
        maildir::seed(&self.maildir(user), folder, messages, self.vmail)
            .with_context(|| format!("seeding {folder} of {}", user.username))
    }

    pub fn create_folder(&self, user: &StackUser, folder: &str) -> anyhow::Result<()> {
        maildir::ensure_folder(&self.maildir(user), folder, self.vmail).map(drop)
    }

    /// Deletes a folder and its messages; recreating it gives a new UIDVALIDITY.
    pub fn delete_folder(&self, user: &StackUser, folder: &str) -> anyhow::Result<()> {
        maildir::delete_folder(&self.maildir(user), folder)
    }

    /// Removes every message of a folder, as an expunge by another client would; the folder
    /// and its UIDVALIDITY stay.
    pub fn expunge_all(&self, user: &StackUser, folder: &str) -> anyhow::Result<()> {
        self.expunge_where(user, folder, |_| Ok(true)).map(drop)
    }

    /// Removes the messages of a folder whose text contains `needle`, as an expunge by another
    /// client would; returns how many.
    pub fn expunge_matching(
        &self,
        user: &StackUser,
        folder: &str,
        needle: &[u8],
    ) -> anyhow::Result<usize> {
        self.expunge_where(user, folder, |path| {
            let raw = std::fs::read(path)?;
            Ok(needle.is_empty() || raw.windows(needle.len()).any(|w| w == needle))
        })
    }

    /// Removes the message files of a folder that `expunged` picks; returns how many.
    fn expunge_where(
        &self,
        user: &StackUser,
        folder: &str,
        expunged: impl Fn(&Path) -> std::io::Result<bool>,
    ) -> anyhow::Result<usize> {
        let dir = maildir::folder_dir(&self.maildir(user), folder)?;
        let mut removed = 0;
        for sub in ["cur", "new"] {
            for entry in std::fs::read_dir(dir.join(sub))? {
                let path = entry?.path();
                if expunged(&path)? {
                    std::fs::remove_file(&path)?;
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    /// Installs `script` as `user`'s active Sieve script (`~/.dovecot.sieve`), run by Dovecot's
    /// LMTP at every later delivery; e.g. a `vacation` auto-responder. Fails when Pigeonhole
    /// (package `dovecot-sieve`) is not installed.
    pub fn set_sieve_script(&self, user: &StackUser, script: &str) -> anyhow::Result<()> {
        if !conf::sieve_installed() {
            bail!(
                "Sieve is not available: {} is missing (install dovecot-sieve)",
                conf::SIEVE_PLUGIN
            );
        }
        let home = self.dir.join("mail").join(&user.username);
        let path = home.join(".dovecot.sieve");
        write_atomically(&path, script.as_bytes())?;
        process::chown(&path, self.vmail)?;
        Ok(())
    }

    fn maildir(&self, user: &StackUser) -> PathBuf {
        maildir::maildir_root(&self.dir.join("mail"), &user.username)
    }

    /// Logs `user` in over IMAP, trusting only the test CA.
    pub async fn imap_session(
        &self,
        user: &StackUser,
        mode: ImapTls,
    ) -> anyhow::Result<client::ImapSession> {
        let config = tls::trusting_ca_file(&self.ca_file())?;
        let port = match mode {
            ImapTls::StartTls => self.ports.imap,
            ImapTls::Implicit => self.ports.imaps,
        };
        client::imap_login(port, mode, config, &user.username, &user.password).await
    }

    /// Every message of `folder` over IMAP (EXAMINE + UID FETCH 1:*), sorted by UID.
    pub async fn read_folder(
        &self,
        user: &StackUser,
        folder: &str,
    ) -> anyhow::Result<Vec<StoredMessage>> {
        let mut session = self.imap_session(user, ImapTls::Implicit).await?;
        let messages = client::fetch_all(&mut session, folder).await;
        // A failed LOGOUT does not make the messages read less true.
        let _ = session.logout().await;
        messages
    }

    /// Polls `folder` (no fixed sleep) until a message satisfies `pred`, or fails at `timeout`.
    pub async fn wait_for_message(
        &self,
        user: &StackUser,
        folder: &str,
        pred: impl Fn(&StoredMessage) -> bool,
        timeout: Duration,
    ) -> anyhow::Result<StoredMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut session = self.imap_session(user, ImapTls::Implicit).await?;
        loop {
            // A folder that does not exist yet is just "not arrived yet".
            if let Ok(messages) = client::fetch_all(&mut session, folder).await
                && let Some(found) = messages.into_iter().find(|message| pred(message))
            {
                let _ = session.logout().await;
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "no matching message in {folder} of {} after {timeout:?}",
                    user.username
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Polls `folder` with `UID SEARCH HEADER name value` until a message matches, or fails at
    /// `timeout`. Unlike [`MailStack::wait_for_message`] it never downloads the folder, so it
    /// stays cheap on a folder of tens of thousands of messages.
    pub async fn wait_for_header(
        &self,
        user: &StackUser,
        folder: &str,
        (name, value): (&str, &str),
        timeout: Duration,
    ) -> anyhow::Result<u32> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut session = self.imap_session(user, ImapTls::Implicit).await?;
        let query = format!("HEADER {name} \"{}\"", value.replace(['"', '\\'], ""));
        loop {
            if session.examine(folder).await.is_ok()
                && let Ok(uids) = session.uid_search(&query).await
                && let Some(uid) = uids.into_iter().min()
            {
                let _ = session.logout().await;
                return Ok(uid);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "no message with {name}: {value} in {folder} of {} after {timeout:?}",
                    user.username
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Submits `raw` over SMTP (STARTTLS + AUTH as `user`), trusting only the test CA. A refusal
    /// keeps its `lettre::transport::smtp::Error` in the chain (downcast for the status code).
    pub async fn submit(
        &self,
        user: &StackUser,
        envelope_from: &str,
        to: &[&str],
        raw: &[u8],
    ) -> anyhow::Result<()> {
        let ca = std::fs::read(self.ca_file()).context("reading the test CA")?;
        client::smtp_submit(
            self.ports.smtp,
            &ca,
            &user.username,
            &user.password,
            envelope_from,
            to,
            raw,
        )
        .await
    }

    /// Makes Postfix answer `code text` at RCPT for `address` (421, 451, 550, ...).
    pub fn refuse_recipient(&self, address: &str, code: u16, text: &str) -> anyhow::Result<()> {
        if !(400..600).contains(&code) {
            bail!("refusal code {code} is not a 4xx or 5xx reply");
        }
        if address.contains(char::is_whitespace) || text.contains(['\n', '\r']) {
            bail!("refusal address or text contains whitespace or line breaks");
        }
        let map = self.dir.join("postfix/refusals");
        let mut lines = std::fs::read_to_string(&map).unwrap_or_default();
        lines.push_str(&format!("{} {code} {text}\n", address.to_ascii_lowercase()));
        write_atomically(&map, lines.as_bytes())?;
        self.postfix_reload()
    }

    /// Removes every refusal.
    pub fn clear_refusals(&self) -> anyhow::Result<()> {
        write_atomically(&self.dir.join("postfix/refusals"), b"")?;
        self.postfix_reload()
    }

    /// Stops both servers and waits until their processes are gone.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.done = true;
        self.shutdown()
    }

    fn shutdown(&self) -> anyhow::Result<()> {
        let postfix = self.stop_postfix();
        let dovecot = self.stop_dovecot();
        let leftovers = stack_processes(Some(&self.dir));
        if !leftovers.is_empty() {
            process::kill_leftovers(&self.dir);
        }
        postfix?;
        dovecot?;
        if !leftovers.is_empty() {
            bail!("processes {leftovers:?} outlived the stack and were killed");
        }
        Ok(())
    }
}

impl Drop for MailStack {
    fn drop(&mut self) {
        // A failing test unwinds through here: what the servers logged is the only trace of a
        // cause on their side (a refused login, a deferred delivery), and the directory goes.
        if std::thread::panicking() {
            for log in ["log/dovecot.log", "log/postfix.log"] {
                let path = self.dir.join(log);
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(40)..];
                eprintln!("--- last {} lines of {}:", tail.len(), path.display());
                for line in tail {
                    eprintln!("{line}");
                }
            }
        }
        if !self.done
            && let Err(error) = self.shutdown()
        {
            eprintln!(
                "candor testkit: stopping the stack in {}: {error:#}",
                self.dir.display()
            );
        }
        if self.remove_dir && stack_processes(Some(&self.dir)).is_empty() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
