//! Default locations of the configuration file and the store (SPEC §11, §12).

use std::path::PathBuf;

/// True when running as root or as a systemd service (which sets `INVOCATION_ID`).
fn system_wide() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    root || std::env::var_os("INVOCATION_ID").is_some()
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn home_dir() -> PathBuf {
    env_path("HOME").unwrap_or_else(|| PathBuf::from("."))
}

/// `$CANDOR_CONFIG`, else `/etc/candor/candor.toml` as root or under systemd, else
/// `$XDG_CONFIG_HOME/candor/candor.toml` (`~/.config` when unset). `--config` wins over all.
pub fn default_config_path() -> PathBuf {
    if let Some(path) = env_path("CANDOR_CONFIG") {
        return path;
    }
    if system_wide() {
        return PathBuf::from("/etc/candor/candor.toml");
    }
    let base = env_path("XDG_CONFIG_HOME").unwrap_or_else(|| home_dir().join(".config"));
    base.join("candor").join("candor.toml")
}

/// `$STATE_DIRECTORY/candor.db` under systemd, else `/var/lib/candor/candor.db` as root, else
/// `$XDG_STATE_HOME/candor/candor.db` (`~/.local/state` when unset).
pub fn default_store_path() -> PathBuf {
    if let Some(dir) = env_path("STATE_DIRECTORY") {
        // systemd may pass several directories separated by ':'; the first is ours.
        let first = dir
            .to_string_lossy()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        return PathBuf::from(first).join("candor.db");
    }
    if system_wide() {
        return PathBuf::from("/var/lib/candor/candor.db");
    }
    let base = env_path("XDG_STATE_HOME").unwrap_or_else(|| home_dir().join(".local/state"));
    base.join("candor").join("candor.db")
}
