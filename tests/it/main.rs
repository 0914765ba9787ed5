//! The integration tests: one binary, against real Dovecot and Postfix on loopback.

mod auth;
// The campaigns kill the daemon at its failpoints too (`cargo test --all-features`).
#[cfg(feature = "failpoints")]
mod campaigns;
mod classify;
mod cli_config;
mod cli_inputs;
mod conversations;
// The crash tests need the failpoints compiled in (`cargo test --all-features`).
#[cfg(feature = "failpoints")]
mod crash;
mod digest;
mod followups;
mod hostile;
mod ingest;
mod latency_truth;
mod loops;
mod mailstack;
mod plan_truth;
mod security;
mod service;
mod store;
mod support;
mod synthetic;
mod threading;
