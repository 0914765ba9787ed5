//! Logging set-up for the binary: tracing to stderr, as text or JSON lines.
//!
//! Under systemd (`JOURNAL_STREAM` set) no timestamps and no colours: journald adds its own
//! timestamp and stores stderr lines as they are. Whatever level the user asks for (through
//! `logging.level` or `RUST_LOG`, however specific its targets), the IMAP, SMTP and TLS libraries
//! are capped at `info` by a filter of their own, outside `RUST_LOG`'s reach: at trace level
//! async-imap prints `LOGIN "user" "password"` and message bodies, lettre the SMTP dialogue
//! (crates.md).

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{LogFormat, Logging};

/// Targets whose verbose levels would leak secrets or message bodies. A target matches these and
/// every module below them (`async_imap::client`, `lettre::transport::smtp`).
const CAPPED_TARGETS: &[&str] = &[
    "async_imap",
    "imap_proto",
    "lettre",
    "rustls",
    "tokio_rustls",
    "mail_parser",
];

/// The level the user asked for: `RUST_LOG` when set, else `logging.level`.
pub fn filter(level: &str) -> EnvFilter {
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(spec),
        _ => EnvFilter::new(level),
    }
}

/// The cap on the libraries that print secrets, applied on top of [`filter`].
pub fn caps() -> Targets {
    Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(CAPPED_TARGETS.iter().map(|t| (*t, LevelFilter::INFO)))
}

/// Installs the global subscriber; a second call is a no-op.
pub fn init(logging: &Logging) {
    let under_journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let ansi = std::io::stderr().is_terminal() && !under_journald;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    let layer = match (logging.format, under_journald) {
        (LogFormat::Json, _) => fmt.json().boxed(),
        (LogFormat::Text, true) => fmt.without_time().boxed(),
        (LogFormat::Text, false) => fmt.boxed(),
    };
    let filter = filter(logging.level.as_str());
    let shown = filter.to_string();
    let result = tracing_subscriber::registry()
        .with(layer.with_filter(caps()).with_filter(filter))
        .try_init();
    // Already installed (tests calling twice): keep the first.
    if result.is_ok() {
        tracing::debug!(filter = %shown, capped = ?CAPPED_TARGETS, "logging set up");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn library_trace_is_capped_however_specific_the_request() {
        let caps = caps();
        for target in [
            "async_imap",
            "async_imap::client",
            "async_imap::imap_stream",
            "lettre::transport::smtp::client",
            "rustls::client",
        ] {
            assert!(!caps.would_enable(target, &Level::TRACE), "{target} trace");
            assert!(!caps.would_enable(target, &Level::DEBUG), "{target} debug");
            assert!(caps.would_enable(target, &Level::INFO), "{target} info");
        }
        assert!(caps.would_enable("candor::service", &Level::TRACE));
        assert!(caps.would_enable("candor", &Level::DEBUG));
    }
}
