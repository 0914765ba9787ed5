//! Incremental threading during the sync: the threader is loaded once from the store, then every
//! new message is threaded in the transaction that stores it (SPEC §2, issue 5: a new message
//! updates its thread without recomputing the mailbox).

use std::sync::{Arc, Mutex};

use rusqlite::Transaction;

use crate::conversations::Identity;
use crate::store::Store;
use crate::store::ingest::{self, AccountId, Fetched, MessageRowId, ThreadRow};
use crate::threading::{ThreadInput, Threader};

/// The threader of one account and who the account is (for the header-less reply rule).
pub struct Threads {
    threader: Threader,
    identity: Identity,
}

pub type SharedThreads = Arc<Mutex<Threads>>;

impl Threads {
    /// Rebuilds the threader from every stored message of the account.
    pub async fn load(
        store: &Store,
        account: AccountId,
        identity: Identity,
    ) -> anyhow::Result<SharedThreads> {
        let rows = store
            .call(move |tx| ingest::thread_rows(tx, account))
            .await?;
        let mut threads = Threads {
            threader: Threader::new(),
            identity,
        };
        for row in &rows {
            let input = threads.input_of_row(row);
            threads.threader.add(&input);
        }
        Ok(Arc::new(Mutex::new(threads)))
    }

    fn input_of_row(&self, row: &ThreadRow) -> ThreadInput {
        ThreadInput {
            key: row.id.0,
            message_id: row.message_id.clone(),
            extra_message_ids: row.extra_ids.clone(),
            in_reply_to: row.in_reply_to.clone(),
            references: row.references.clone(),
            time: jiff::Timestamp::from_second(row.time).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            correspondents: self.identity.correspondents(&row.from, &row.to, &row.cc),
            subject: Some(row.subject.clone()),
        }
    }

    /// Threads the batch's new messages and persists their threads, in the caller's transaction.
    pub fn add_new(
        &mut self,
        tx: &Transaction<'_>,
        account: AccountId,
        batch: &[Fetched],
        new_rows: &[(usize, MessageRowId)],
    ) -> anyhow::Result<()> {
        for &(index, row) in new_rows {
            let Some(Fetched::Parsed {
                message,
                internal_date,
                ..
            }) = batch.get(index)
            else {
                continue;
            };
            let addresses = |list: &[crate::mail::Address]| {
                list.iter().map(|a| a.address.clone()).collect::<Vec<_>>()
            };
            let from = message
                .from
                .as_ref()
                .map(|a| a.address.clone())
                .unwrap_or_default();
            let input = ThreadInput {
                key: row.0,
                message_id: message.message_id.clone(),
                extra_message_ids: message.extra_message_ids.clone(),
                in_reply_to: message.in_reply_to.clone(),
                references: message.references.clone(),
                time: crate::mail::message_time(message.date, *internal_date),
                correspondents: self.identity.correspondents(
                    &from,
                    &addresses(&message.to),
                    &addresses(&message.cc),
                ),
                subject: message.subject.clone(),
            };
            let assignment = self.threader.add(&input);
            let merged: Vec<i64> = assignment.merged.iter().map(|t| t.0).collect();
            ingest::set_thread(tx, account, row, assignment.thread.0, &merged)?;
        }
        Ok(())
    }
}
