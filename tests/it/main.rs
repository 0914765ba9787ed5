//! The integration tests: one binary, against real Dovecot and Postfix on loopback.

mod cli_config;
mod mailstack;
mod store;
