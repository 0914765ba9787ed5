//! The integration tests: one binary, against real Dovecot and Postfix on loopback.

mod auth;
mod classify;
mod cli_config;
mod conversations;
// The crash tests need the failpoints compiled in (`cargo test --all-features`).
#[cfg(feature = "failpoints")]
mod crash;
mod followups;
mod hostile;
mod ingest;
mod latency_truth;
mod loops;
mod mailstack;
mod security;
mod store;
mod support;
mod threading;
