//! The integration tests: one binary, against real Dovecot and Postfix on loopback.

mod auth;
mod classify;
mod cli_config;
mod followups;
mod ingest;
mod mailstack;
mod store;
mod support;
mod threading;
