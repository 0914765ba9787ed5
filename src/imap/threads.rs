//! Incremental threading during the sync: the threader is loaded once from the store, then every
//! new message is threaded in the transaction that stores it (SPEC §2, issue 5: a new message
//! updates its thread without recomputing the mailbox).

use std::sync::{Arc, Mutex};

use rusqlite::Transaction;

use crate::conversations::Identity;
use crate::mail::Message;
use crate::store::Store;
use crate::store::ingest::{
    self, AccountId, BatchOutcome, Fetched, FolderId, KnownKeys, MessageRowId, ThreadChoice,
    ThreadRow,
};
use crate::threading::{Digests, Prepared, ThreadAssignment, ThreadInput, Threader};

/// The threader of one account, who the account is (for the header-less reply rule), and the
/// keys stored for it.
pub struct Threads {
    threader: Threader,
    identity: Identity,
    keys: KnownKeys,
}

pub type SharedThreads = Arc<Mutex<Threads>>;

impl Threads {
    /// Rebuilds the threader from every stored message of the account.
    pub async fn load(
        store: &Store,
        account: AccountId,
        identity: Identity,
    ) -> anyhow::Result<SharedThreads> {
        let (rows, keys) = store
            .call(move |tx| {
                let rows = ingest::thread_rows(tx, account)?;
                Ok((rows, KnownKeys::load(tx, account.0)?))
            })
            .await?;
        let mut threads = Threads {
            threader: Threader::new(),
            identity,
            keys,
        };
        for row in &rows {
            let input = threads.input_of_row(row);
            threads.threader.add(&input);
        }
        Ok(Arc::new(Mutex::new(threads)))
    }

    /// What prepares messages for this threader elsewhere.
    pub fn preparer(&self) -> Preparer {
        Preparer {
            digests: self.threader.digests(),
            identity: self.identity.clone(),
        }
    }

    fn input_of_row<'a>(&self, row: &'a ThreadRow) -> ThreadInput<'a> {
        let addresses = |list: &'a [String]| list.iter().map(String::as_str);
        ThreadInput {
            key: row.id.0,
            message_id: row.message_id.as_deref(),
            extra_message_ids: &row.extra_ids,
            in_reply_to: &row.in_reply_to,
            references: &row.references,
            time: jiff::Timestamp::from_second(row.time).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            correspondents: self.identity.correspondents(
                &row.from,
                addresses(&row.to),
                addresses(&row.cc),
            ),
            subject: Some(&row.subject),
        }
    }

    /// Threads one new message that is about to be stored as `row`, read from the message
    /// itself (the path of a message the parser stage did not prepare).
    pub fn choose(
        &mut self,
        message: &Message,
        internal_date: jiff::Timestamp,
        row: MessageRowId,
    ) -> ThreadChoice {
        choose(
            &mut self.threader,
            &self.identity,
            message,
            internal_date,
            row,
        )
    }

    /// Stores a batch (in the caller's transaction), threading each new message as it goes.
    // The arguments are those of `ingest::store_batch`.
    #[allow(clippy::too_many_arguments)]
    pub fn store_batch(
        &mut self,
        tx: &Transaction<'_>,
        account: AccountId,
        folder: FolderId,
        uidvalidity: u32,
        batch: &[Fetched],
        next_uid: u32,
        now: jiff::Timestamp,
    ) -> anyhow::Result<BatchOutcome> {
        let Threads {
            threader,
            identity,
            keys,
        } = self;
        ingest::store_batch(
            tx,
            account,
            folder,
            uidvalidity,
            batch,
            next_uid,
            now,
            keys,
            threader.next_key(),
            &mut |message, internal_date, prepared, row| match prepared {
                Some(prepared) => choice(threader.add_prepared(row.0, prepared)),
                None => choose(threader, identity, message, internal_date, row),
            },
        )
    }
}

/// [`Threads::choose`], on the threader and identity alone.
fn choose(
    threader: &mut Threader,
    identity: &Identity,
    message: &Message,
    internal_date: jiff::Timestamp,
    row: MessageRowId,
) -> ThreadChoice {
    choice(threader.add(&input(identity, message, internal_date, row.0)))
}

/// The threader's view of a new message to be stored as row `key`.
fn input<'a>(
    identity: &Identity,
    message: &'a Message,
    internal_date: jiff::Timestamp,
    key: i64,
) -> ThreadInput<'a> {
    let from = message.from.as_ref().map_or("", |a| a.address.as_str());
    ThreadInput {
        key,
        message_id: message.message_id.as_deref(),
        extra_message_ids: &message.extra_message_ids,
        in_reply_to: &message.in_reply_to,
        references: &message.references,
        time: crate::mail::message_time(message.date, internal_date),
        correspondents: identity.correspondents(
            from,
            message.to.iter().map(|a| a.address.as_str()),
            message.cc.iter().map(|a| a.address.as_str()),
        ),
        subject: message.subject.as_deref(),
    }
}

fn choice(assignment: ThreadAssignment) -> ThreadChoice {
    ThreadChoice {
        thread: assignment.thread.0,
        merged: assignment.merged.iter().map(|t| t.0).collect(),
    }
}

/// Prepares messages for the threader of a session, on another thread (the sync's parser):
/// the same digests and the same identity.
#[derive(Clone, Debug)]
pub struct Preparer {
    digests: Digests,
    identity: Identity,
}

impl Preparer {
    pub fn prepare(&self, message: &Message, internal_date: jiff::Timestamp) -> Prepared {
        self.digests
            .prepare(&input(&self.identity, message, internal_date, 0))
    }
}
