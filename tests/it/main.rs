//! The integration tests: one binary, against real Dovecot and Postfix on loopback.

mod classify;
mod ingest;
mod cli_config;
mod mailstack;
mod store;
mod support;
mod threading;
