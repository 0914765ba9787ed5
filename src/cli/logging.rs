//! Logging set-up for the binary: tracing to stderr, or JSON lines.
//!
//! Under systemd (`JOURNAL_STREAM` set) no timestamps and no colours: journald adds its own.
//! Whatever level the user asks for, the IMAP and SMTP libraries are capped at `info`: at trace
//! level async-imap prints `LOGIN "user" "password"` and message bodies (crates.md).

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, Logging};

/// Targets whose verbose levels would leak secrets or message bodies.
const CAPPED_TARGETS: &[&str] = &[
    "async_imap",
    "imap_proto",
    "lettre",
    "rustls",
    "tokio_rustls",
];

pub fn filter(level: &str) -> EnvFilter {
    let mut filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(level),
    };
    for target in CAPPED_TARGETS {
        let directive = format!("{target}=info")
            .parse()
            .expect("a static target=level directive parses");
        filter = filter.add_directive(directive);
    }
    filter
}

/// Installs the global subscriber; a second call is a no-op.
pub fn init(logging: &Logging) {
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let ansi = std::io::stderr().is_terminal() && !under_journald;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter(logging.level.as_str()))
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    let result = match (logging.format, under_journald) {
        (LogFormat::Json, _) => builder.json().try_init(),
        (LogFormat::Text, true) => builder.without_time().try_init(),
        (LogFormat::Text, false) => builder.try_init(),
    };
    // Already installed (tests calling twice): keep the first.
    drop(result);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imap_trace_is_capped_whatever_is_asked() {
        let filter = filter("trace").to_string();
        assert!(filter.contains("async_imap=info"), "{filter}");
        assert!(filter.contains("lettre=info"), "{filter}");
    }
}
