//! candor keeps recruiting conversations from going dark.
//!
//! The library holds everything; `src/main.rs` only parses the command line, sets up logging and
//! maps errors to exit codes. See `ARCHITECTURE.md` for the code map and the invariants.

pub mod calendar;
pub mod cli;
pub mod clock;
pub mod config;
pub mod conversations;
pub mod failpoint;
pub mod imap;
pub mod latency;
pub mod mail;
pub mod outbox;
pub mod paths;
pub mod plan;
pub mod policy;
pub mod report;
pub mod service;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod threading;
pub mod tls;
