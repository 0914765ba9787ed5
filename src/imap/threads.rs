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
    /// Rebuilds the threader from every stored message of the account, and makes the stored
    /// threads agree with it.
    ///
    /// A thread is named after its smallest row id. Deleting messages (`candidate forget`,
    /// retention) can delete a thread's first message while the rest of the thread stays: the
    /// threader of the daemon that runs meanwhile still holds the deleted row, and goes on naming
    /// the thread as stored, but one rebuilt from the rows left names it after the next row. New
    /// messages then went to a thread apart from the stored messages they answer. The stored
    /// thread of each such row is set to the rebuilt one here, in one transaction.
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
        let renamed: Vec<(MessageRowId, i64)> = rows
            .iter()
            .filter_map(|row| {
                let thread = threads.threader.thread_of(row.id.0)?.0;
                (thread != row.thread).then_some((row.id, thread))
            })
            .collect();
        if !renamed.is_empty() {
            tracing::info!(
                messages = renamed.len(),
                "stored threads brought in line with the rebuilt threader (their first rows were deleted)"
            );
            store
                .call(move |tx| ingest::set_threads(tx, &renamed))
                .await?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::outbox;

    fn parsed(raw: &str) -> Message {
        crate::mail::parse(raw.replace('\n', "\r\n").as_bytes()).expect("test message parses")
    }

    fn message(from: &str, to: &str, cc: &str, id: &str, refs: &str) -> Message {
        let refs = if refs.is_empty() {
            String::new()
        } else {
            format!("In-Reply-To: <{refs}>\nReferences: <{refs}>\n")
        };
        parsed(&format!(
            "From: {from}\nTo: {to}\nCc: {cc}\nDate: Tue, 3 Mar 2026 10:00:00 +0000\nMessage-ID: <{id}>\n{refs}Subject: Shortlist\n\nText of {id}\n"
        ))
    }

    /// Stores `messages` in the account's INBOX from `uid` on, threaded by `threads`.
    async fn store_messages(
        store: &Store,
        threads: &SharedThreads,
        account: AccountId,
        uid: u32,
        messages: Vec<Message>,
    ) {
        let threads = threads.clone();
        store
            .call(move |tx| {
                let folder = ingest::ensure_folder(tx, account, "INBOX", "inbox")?;
                let at = jiff::Timestamp::from_second(1_772_532_000).unwrap();
                let batch: Vec<Fetched> = messages
                    .into_iter()
                    .enumerate()
                    .map(|(i, m)| Fetched::parsed(uid + i as u32, at, m))
                    .collect();
                let next = uid + batch.len() as u32;
                threads
                    .lock()
                    .unwrap()
                    .store_batch(tx, account, folder.id, 1, &batch, next, at)?;
                Ok(())
            })
            .await
            .unwrap();
    }

    /// (row, thread) of every stored message, by row.
    async fn stored_threads(store: &Store, account: AccountId) -> Vec<(i64, i64)> {
        let rows = store
            .call(move |tx| ingest::thread_rows(tx, account))
            .await
            .unwrap();
        rows.iter().map(|r| (r.id.0, r.thread)).collect()
    }

    /// Regression: Ann opened a thread that Carl, a client, carried on with the owner; after
    /// `candidate forget ann` and a restart, the threader rebuilt from the rows left named the
    /// thread after Carl's message while the store still named it after Ann's deleted one, and
    /// Carl's next message went to a thread apart from the one it answers.
    #[tokio::test]
    async fn a_thread_whose_first_message_was_forgotten_stays_one_thread_after_a_restart() {
        let store = Store::open_in_memory().unwrap();
        let now = jiff::Timestamp::from_second(1_772_532_000).unwrap();
        let account = store
            .call(move |tx| ingest::ensure_account(tx, "jane", now))
            .await
            .unwrap();
        let identity = || {
            Identity::new(
                &["jane@agency.example".to_owned()],
                &["agency.example".to_owned()],
            )
        };
        let threads = Threads::load(&store, account, identity()).await.unwrap();
        let ann = "Ann <ann@candidates.example>";
        let jane = "Jane <jane@agency.example>";
        let carl = "Carl <carl@client.example>";
        store_messages(
            &store,
            &threads,
            account,
            1,
            vec![
                message(ann, jane, "", "a1@c", ""),
                message(carl, jane, "", "c1@c", "a1@c"),
            ],
        )
        .await;
        let before = stored_threads(&store, account).await;
        assert_eq!(before.len(), 2);
        assert_eq!(before[0].1, before[1].1, "one thread: {before:?}");

        // candor candidate forget ann@candidates.example, then a restart.
        store
            .call(move |tx| outbox::forget(tx, account, &["ann@candidates.example".to_owned()], 0))
            .await
            .unwrap();
        drop(threads);
        let threads = Threads::load(&store, account, identity()).await.unwrap();
        let carl_row = before[1].0;
        assert_eq!(
            stored_threads(&store, account).await,
            [(carl_row, carl_row)],
            "Carl's message now names its thread"
        );

        store_messages(
            &store,
            &threads,
            account,
            3,
            vec![message(carl, jane, "", "c2@c", "c1@c")],
        )
        .await;
        let after = stored_threads(&store, account).await;
        assert_eq!(after.len(), 2);
        assert_eq!(
            after[0].1, after[1].1,
            "Carl's reply joins the thread it answers: {after:?}"
        );
    }
}
