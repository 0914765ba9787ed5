//! Everything IMAP: connections, folder discovery, incremental sync, IDLE, and the APPEND and
//! SEARCH the outbox asks for. The only module that speaks IMAP.
//!
//! Read-only towards the owner's mail: folders are opened with EXAMINE and bodies fetched with
//! `BODY.PEEK`, so candor never changes a flag (SPEC §3).

mod connect;
mod folders;
mod socket;
mod sync;
mod threads;
mod utf7;
pub mod wire;

pub use connect::{ImapError, ImapErrorKind, Io, Session, connect};
pub use folders::{FolderPlan, discover_folders};
pub use sync::{
    AccountSyncReport, COMMAND_TIMEOUT, FolderSyncReport, fetch_items, sync_account, sync_folder,
};
pub use threads::{Preparer, SharedThreads, Threads};

mod append;
pub use append::{append, contains_message_id};
