//! Starting and stopping the two servers of a stack, and the files they need first.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};

use super::process::{self, dir_0755, read_pid_file, wait_until};
use super::{MailStack, SERVER_TIMEOUT, conf};

impl MailStack {
    /// Writes both servers' configuration and the `stack.state` that `attach` reads.
    pub(super) fn write_configs(&self) -> anyhow::Result<()> {
        let dir = &self.dir;
        std::fs::write(
            dir.join("dovecot/dovecot.conf"),
            conf::dovecot_conf(dir, &self.ports),
        )
        .context("writing dovecot.conf")?;
        let main_cf = dir.join("postfix/main.cf");
        let master_cf = dir.join("postfix/master.cf");
        std::fs::write(
            &main_cf,
            conf::postfix_main_cf(dir, &self.ports, &self.domains),
        )
        .context("writing main.cf")?;
        std::fs::write(&master_cf, conf::postfix_master_cf(&self.ports))
            .context("writing master.cf")?;
        // Postfix waits until main.cf is more than 1 s old before it starts: backdate both.
        let past = SystemTime::now() - Duration::from_secs(60);
        for file in [&main_cf, &master_cf] {
            std::fs::File::options()
                .write(true)
                .open(file)
                .and_then(|handle| handle.set_modified(past))
                .with_context(|| format!("backdating {}", file.display()))?;
        }
        let state = format!(
            "imap={}\nimaps={}\nlmtp={}\nsmtp={}\ndomains={}\n",
            self.ports.imap,
            self.ports.imaps,
            self.ports.lmtp,
            self.ports.smtp,
            self.domains.join(" ")
        );
        write_atomically(&dir.join("stack.state"), state.as_bytes())
    }

    fn dovecot_pid_file(&self) -> PathBuf {
        self.dir.join("run/dovecot/master.pid")
    }

    fn postfix_pid_file(&self) -> PathBuf {
        self.dir.join("spool/postfix/pid/master.pid")
    }

    /// Starts Dovecot (it daemonises once its listeners are bound) on the stack's ports.
    pub fn start_dovecot(&self) -> anyhow::Result<()> {
        // A stale penalty socket from a killed instance would bring the auth delay back.
        let _ = std::fs::remove_file(self.dir.join("run/dovecot/anvil-auth-penalty"));
        let mut command = Command::new("dovecot");
        command.arg("-c").arg(self.dir.join("dovecot/dovecot.conf"));
        process::run_launcher(
            &mut command,
            &self.dir,
            &self.dir.join("log/dovecot.start.log"),
        )
        .context("starting dovecot")?;
        if !process::wait_for_port(self.ports.imaps, SERVER_TIMEOUT) {
            bail!(
                "dovecot did not accept connections on port {}",
                self.ports.imaps
            );
        }
        Ok(())
    }

    /// Stops Dovecot: SIGTERM to its master, then waits until all its processes are gone.
    pub fn stop_dovecot(&self) -> anyhow::Result<()> {
        let pid_file = self.dovecot_pid_file();
        if let Some(pid) = read_pid_file(&pid_file) {
            process::signal(pid, libc::SIGTERM);
        }
        // The master removes master.pid as it exits; `kill -0` would lie while it is a zombie.
        let gone = wait_until(SERVER_TIMEOUT, || {
            !pid_file.exists() && self.server_processes("dovecot").is_empty()
        });
        if !gone {
            // A busy machine can keep a child (an IDLE session) longer than that: kill what is
            // left, and fail only if even that does not work.
            for pid in self.server_processes("dovecot") {
                process::signal(pid, libc::SIGKILL);
            }
            let _ = std::fs::remove_file(&pid_file);
            if !wait_until(SERVER_TIMEOUT, || {
                self.server_processes("dovecot").is_empty()
            }) {
                bail!("dovecot did not stop within {SERVER_TIMEOUT:?}, even after SIGKILL");
            }
        }
        Ok(())
    }

    pub fn restart_dovecot(&self) -> anyhow::Result<()> {
        self.stop_dovecot()?;
        self.start_dovecot()
    }

    /// Starts Postfix with the stack's own config directory.
    pub fn start_postfix(&self) -> anyhow::Result<()> {
        let mut command = Command::new("postfix");
        command.arg("-c").arg(self.dir.join("postfix")).arg("start");
        process::run_launcher(
            &mut command,
            &self.dir,
            &self.dir.join("log/postfix.start.log"),
        )
        .context("starting postfix")?;
        if !process::wait_for_port(self.ports.smtp, SERVER_TIMEOUT) {
            bail!(
                "postfix did not accept connections on port {}",
                self.ports.smtp
            );
        }
        Ok(())
    }

    /// Stops Postfix: SIGTERM to its master (which stops its children), then waits for all.
    pub fn stop_postfix(&self) -> anyhow::Result<()> {
        // Postfix never deletes its pid file: a live process with that pid must also be ours.
        let ours = self.server_processes("postfix");
        if let Some(pid) = read_pid_file(&self.postfix_pid_file())
            && ours.contains(&pid)
        {
            process::signal(pid, libc::SIGTERM);
        }
        if !wait_until(SERVER_TIMEOUT, || {
            self.server_processes("postfix").is_empty()
        }) {
            for pid in self.server_processes("postfix") {
                process::signal(pid, libc::SIGKILL);
            }
            bail!("postfix did not stop within {SERVER_TIMEOUT:?}; killed it");
        }
        Ok(())
    }

    pub fn restart_postfix(&self) -> anyhow::Result<()> {
        self.stop_postfix()?;
        self.start_postfix()
    }

    /// Tells a running Postfix to re-read its configuration and maps.
    pub(super) fn postfix_reload(&self) -> anyhow::Result<()> {
        if self.server_processes("postfix").is_empty() {
            return Ok(());
        }
        let mut command = Command::new("postfix");
        command
            .arg("-c")
            .arg(self.dir.join("postfix"))
            .arg("reload");
        process::run_launcher(
            &mut command,
            &self.dir,
            &self.dir.join("log/postfix.start.log"),
        )
        .context("reloading postfix")
    }

    /// This stack's processes whose executable lives in a path naming `server`.
    fn server_processes(&self, server: &str) -> Vec<i32> {
        process::stack_processes(Some(&self.dir))
            .into_iter()
            .filter(|pid| {
                std::fs::read_link(format!("/proc/{pid}/exe"))
                    .is_ok_and(|exe| exe.to_string_lossy().contains(server))
            })
            .filter_map(|pid| i32::try_from(pid).ok())
            .collect()
    }
}

/// A fresh `candor-stack-XXXXXX` directory (mode 0755) under the system temp dir.
pub(super) fn fresh_temp_dir() -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    for _attempt in 0..100 {
        let suffix: String = rand::Rng::sample_iter(rand::rng(), rand::distr::Alphanumeric)
            .take(6)
            .map(char::from)
            .collect();
        let dir = base.join(format!("candor-stack-{suffix}"));
        match std::fs::DirBuilder::new().mode(0o755).create(&dir) {
            Ok(()) => return dir_0755(dir),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("creating {}", dir.display()));
            }
        }
    }
    bail!(
        "could not create a fresh directory under {}",
        base.display()
    )
}

/// Dovecot and Postfix switch users and bind ports; the stack runs as root only.
pub(super) fn require_root() -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the mail stack must run as root (Dovecot and Postfix drop privileges themselves)");
    }
    Ok(())
}

/// Rejects paths the configs cannot carry, and any dir on the way that others cannot traverse.
pub(super) fn check_path(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let text = dir.to_str().context("stack directory path is not UTF-8")?;
    if text.contains(|c: char| c.is_whitespace() || c.is_control() || c == '"' || c == '#') {
        bail!("stack directory {text:?} contains characters the server configs cannot carry");
    }
    // Unix socket paths are limited to 108 bytes; Dovecot's longest lives under run/dovecot.
    if text.len() > 60 {
        bail!("stack directory {text:?} is too long for the servers' unix sockets (max 60 bytes)");
    }
    for ancestor in dir.ancestors() {
        let mode = std::fs::metadata(ancestor)
            .with_context(|| format!("reading {}", ancestor.display()))?
            .permissions()
            .mode();
        if mode & 0o005 != 0o005 {
            bail!(
                "{} is mode {:o}: every directory on the path must be 0755 for dovecot and postfix",
                ancestor.display(),
                mode & 0o777
            );
        }
    }
    Ok(())
}

/// Creates the directory tree of a stack with the owners the servers expect.
pub(super) fn layout(dir: &Path, vmail: (u32, u32)) -> anyhow::Result<()> {
    for sub in [
        "tls",
        "dovecot",
        "run/dovecot",
        "state/dovecot",
        "log",
        "postfix",
        "spool/postfix",
    ] {
        dir_0755(dir.join(sub))?;
    }
    let mail = dir_0755(dir.join("mail"))?;
    process::chown(&mail, vmail)?;
    let data = dir_0755(dir.join("lib/postfix"))?;
    let (postfix_uid, postfix_gid) = process::lookup_user("postfix")
        .context("no postfix user: run scripts/install-mailstack.sh")?;
    process::chown(&data, (postfix_uid, postfix_gid))?;
    for file in ["dovecot/users", "postfix/refusals"] {
        let path = dir.join(file);
        if !path.exists() {
            std::fs::write(&path, b"").with_context(|| format!("creating {}", path.display()))?;
        }
    }
    Ok(())
}

/// Replaces `path` with `bytes` through a rename, so readers never see half a file.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming onto {}", path.display()))
}
