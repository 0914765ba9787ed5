//! Incremental sync of one folder and of a whole account.
//!
//! Per folder: EXAMINE (read-only), compare UIDVALIDITY with the stored cursor (a change means
//! a rescan from UID 1; messages already stored are recognised by their key), fetch new UIDs in
//! range batches, and commit each batch's messages together with the cursor that covers them.
//! Batches flow through three stages at once: one is stored and the next parsed (each on a
//! blocking thread) while the one after is fetched, and the next folder is fetched while the
//! store finishes the last one.
//! Locations that vanished (expunge, move) are marked gone; the messages stay in the history.

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::timeout;

use super::connect::{ImapError, ImapErrorKind, Session, connect};
use super::folders::FolderPlan;
use super::threads::{Preparer, SharedThreads, Threads};
use super::wire::{self, Wire, WireError};
use crate::clock::Clock;
use crate::config::Server;
use crate::mail;
use crate::store::Store;
use crate::store::ingest::{self, AccountId, Fetched, FolderCursor, FolderId};

/// UIDs per FETCH command.
const BATCH_UIDS: u32 = 500;
/// FETCH commands in flight. With two, the server sat idle between ranges whenever it had
/// written the next range before candor read the previous one; with four it always has one
/// queued: a first sync of 100k messages took 9.4 s instead of 10.9 s, and the server's CPU
/// fell with its idle wakeups (issue 4; three did half as well, six no better).
const FETCH_DEPTH: usize = 4;
/// Room for the header block in the message prefix that one FETCH asks for: with a header of up
/// to this size, the prefix holds all of it and [`mail::BODY_PREFIX_BYTES`] of body. Nine in ten
/// header blocks of the corpora are under 3.2 KB, 99 in 100 under 9.2 KB.
const HEADER_ALLOWANCE_BYTES: u32 = 8192;
/// The prefix of each message that one FETCH asks for (`BODY.PEEK[]<0.N>`).
const PREFIX_BYTES: u32 = mail::BODY_PREFIX_BYTES + HEADER_ALLOWANCE_BYTES;
/// Ranges asked for and not yet parsed when two connections fetch, shared by both: a range
/// holds its share from when it is asked for (a server may answer the ranges in flight in any
/// order, so the answers of each may be in memory) until it is parsed; each is ~2.75 MB for 500
/// messages of the benchmark's mailbox. With two connections on the profiling stack (100k
/// messages, alternating runs): 6 ranges 9.49 s and 59 MiB peak RSS, 5 ranges 9.39 s and
/// 56 MiB, 4 ranges 9.73 s and 52.5 MiB. One connection gets `FETCH_DEPTH + 2`, the most it can
/// hold anyway ([`FETCH_DEPTH`] in flight, one in the channel, one being parsed): no limit.
const RAW_BATCHES: usize = FETCH_DEPTH + 1;
/// Parsed batches that may wait for the store (each ~1 MB: the raw text is dropped by then).
const PARSED_QUEUE: usize = 8;
/// Stored batches waiting for the parser to free them.
const STORED_QUEUE: usize = 2;
/// Most messages the storer commits in one transaction.
const STORE_COMMIT_MESSAGES: usize = 20_000;
/// Longest the storer keeps a transaction open while batches keep coming: it holds the write
/// lock, which commands run beside the daemon wait for.
const STORE_COMMIT_AFTER: Duration = Duration::from_millis(1000);
/// Messages that each of two folders never synced before must hold for a pass to open a second
/// connection (see [`sync_folders`]): a full range each, at least.
const SECOND_CONNECTION_MESSAGES: u32 = BATCH_UIDS;
/// How long the second connection may take to connect, greeting and login included.
const SECOND_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the second connection's LOGOUT may take.
const LOGOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// Timeout for EXAMINE, SEARCH and similar commands.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest silence tolerated inside a FETCH response stream.
const FETCH_ITEM_TIMEOUT: Duration = Duration::from_secs(120);

/// What a folder sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FolderSyncReport {
    pub folder: String,
    pub fetched: usize,
    pub new_messages: usize,
    pub known_messages: usize,
    pub skipped: usize,
    pub gone: usize,
    pub uidvalidity_changed: bool,
    /// The server's words when it refused to open the folder (EXAMINE answered NO or BAD): the
    /// other folders are read all the same.
    pub refused: Option<String>,
}

/// What an account sync did, folder by folder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountSyncReport {
    pub folders: Vec<FolderSyncReport>,
}

impl AccountSyncReport {
    pub fn new_messages(&self) -> usize {
        self.folders.iter().map(|f| f.new_messages).sum()
    }
    pub fn skipped(&self) -> usize {
        self.folders.iter().map(|f| f.skipped).sum()
    }
    pub fn fetched(&self) -> usize {
        self.folders.iter().map(|f| f.fetched).sum()
    }
}

/// A batch between two pipeline stages, with the cursor that covers it once stored.
struct Batch<T> {
    items: Vec<T>,
    next_uid: u32,
    /// A fetched batch's share of [`RAW_BATCHES`], given back once it is parsed (`None` once
    /// parsed, and for the few messages a folder's ranges did not bring).
    budget: Option<OwnedSemaphorePermit>,
}

/// Where fetchers send their steps: the parser's channel, and the budget of raw batches that a
/// fetcher takes a share of for each range it asks for.
#[derive(Clone)]
struct RawSink {
    tx: mpsc::Sender<Step<RawItem>>,
    budget: Arc<Semaphore>,
}

/// One raw FETCH item, before parsing.
struct RawItem {
    uid: u32,
    internal_date: Option<jiff::Timestamp>,
    bytes: Option<Vec<u8>>,
    /// The server's words when it refused the FETCH command that should have sent this message.
    refused: Option<String>,
    /// The prefix ended before the header block plus [`mail::BODY_PREFIX_BYTES`] of body did:
    /// the header and the text are asked for again, separately.
    short: bool,
}

/// Syncs every folder of the plan, then records the complete pass. `server` is the account's
/// IMAP server, for the second connection of a first sync (see [`sync_folders`]).
pub async fn sync_account(
    store: &Store,
    account: AccountId,
    session: &mut Session,
    server: &Server,
    plan: &FolderPlan,
    threads: &SharedThreads,
    clock: Clock,
) -> anyhow::Result<AccountSyncReport> {
    let folders: Vec<(&str, &str)> = plan
        .folders
        .iter()
        .map(|(name, role)| (name.as_str(), role.as_str()))
        .collect();
    let report = sync_folders(
        store,
        account,
        session,
        Some(server),
        &folders,
        threads,
        clock,
    )
    .await?;
    let now = clock.now();
    // A folder the server refused to open is the account's error until a pass reads it: shown
    // by `candor status` and `stats`, listed among the accounts needing attention.
    let refused: Vec<String> = report
        .folders
        .iter()
        .filter_map(|f| {
            f.refused
                .as_ref()
                .map(|words| format!("the server refused to open folder {}: {words}", f.folder))
        })
        .collect();
    store
        .call(move |tx| {
            ingest::account_synced(tx, account, now)?;
            if !refused.is_empty() {
                ingest::account_error(tx, account, &refused.join("; "))?;
            }
            Ok(())
        })
        .await?;
    Ok(report)
}

/// Brings one folder up to date.
pub async fn sync_folder(
    store: &Store,
    account: AccountId,
    session: &mut Session,
    folder: &str,
    role: &str,
    threads: &SharedThreads,
    clock: Clock,
) -> anyhow::Result<FolderSyncReport> {
    let mut report = sync_folders(
        store,
        account,
        session,
        None,
        &[(folder, role)],
        threads,
        clock,
    )
    .await?;
    Ok(report.folders.pop().unwrap_or_default())
}

/// What the store knew of a folder before this pass.
struct Known {
    /// The folder's index in the pass.
    index: usize,
    cursor: Option<FolderCursor>,
    /// The UIDs stored as present under the cursor's UIDVALIDITY.
    present: Vec<u32>,
    /// How many more UIDs below the cursor were seen on the server: skipped messages, which have
    /// no location.
    skipped: usize,
}

/// What flows, in order, from the fetcher through the parser to the storer. `folder` is the
/// folder's index in the pass.
enum Step<T> {
    /// The folder was examined: the storer records it (and its new UIDVALIDITY, which makes the
    /// locations under the old one gone).
    Begin {
        folder: usize,
        uidvalidity: u32,
        reset: bool,
    },
    Batch {
        folder: usize,
        batch: Batch<T>,
    },
    /// The folder's pass is complete: these stored locations are no longer on the server.
    End {
        folder: usize,
        gone: Vec<u32>,
    },
}

impl Step<RawItem> {
    /// Parses a batch's messages and prepares them for the threader.
    fn parsed(self, preparer: &Preparer) -> Step<Fetched> {
        match self {
            Step::Begin {
                folder,
                uidvalidity,
                reset,
            } => Step::Begin {
                folder,
                uidvalidity,
                reset,
            },
            Step::Batch { folder, batch } => {
                let items = batch
                    .items
                    .into_iter()
                    .map(|item| {
                        let mut fetched = parse_item(item);
                        fetched.prepare_thread(|message, internal_date| {
                            preparer.prepare(message, internal_date)
                        });
                        fetched
                    })
                    .collect();
                // The raw bytes are freed: their share of the budget is given back.
                drop(batch.budget);
                Step::Batch {
                    folder,
                    batch: Batch {
                        items,
                        next_uid: batch.next_uid,
                        budget: None,
                    },
                }
            }
            Step::End { folder, gone } => Step::End { folder, gone },
        }
    }
}

/// Brings the folders up to date through one three-stage pipeline joined by bounded channels:
/// the fetcher reads batch k+2 from the server while the parser (a blocking thread) parses batch
/// k+1 and the storer (another blocking thread) stores batch k. The pipeline runs across
/// folders: the next folder is examined and fetched while the store finishes the last one.
///
/// A pass in which two folders never synced before (a first sync) hold at least
/// [`SECOND_CONNECTION_MESSAGES`] each (asked with STATUS) opens a second connection to
/// `second`, and the two fetchers take the folders in turn: the
/// server opens one folder and streams it while it streams the other, and on two cores a first
/// sync of 100k messages took ~11% less time (issue 4). If that connection cannot be made, the
/// first does all the folders. Batches of the two folders reach the storer interleaved, each in
/// its folder's UID order; a message held by both folders is stored once, from the copy stored
/// first, as when the folders are synced in different passes.
///
/// Per folder: EXAMINE (read-only), compare UIDVALIDITY with the stored cursor (a change means a
/// rescan from UID 1; messages already stored are recognised by their key), fetch
/// `[next_uid, UIDNEXT)` in UID-range batches (later arrivals are for the next pass), and
/// compare the count on the server with what is stored plus what was fetched: only if they
/// disagree does a SEARCH find the locations that vanished.
///
/// The storer keeps one transaction open while batches keep coming, up to
/// [`STORE_COMMIT_MESSAGES`] or [`STORE_COMMIT_AFTER`]: each commit rewrites the random-keyed
/// index pages it touched, so a first sync of 100k messages commits a dozen times, not a hundred.
/// Batches are stored in order with the cursor that covers them, so the cursor never runs ahead
/// of the stored messages; after a fetch error, what was already fetched is still stored.
async fn sync_folders(
    store: &Store,
    account: AccountId,
    session: &mut Session,
    second: Option<&Server>,
    folders: &[(&str, &str)],
    threads: &SharedThreads,
    clock: Clock,
) -> anyhow::Result<AccountSyncReport> {
    // What the store knows, read before the pipeline starts: once it runs, the storer holds the
    // store's connection in its transactions. Only this task writes the account's folders.
    let names: Vec<String> = folders.iter().map(|(name, _)| (*name).to_owned()).collect();
    let known: Vec<Known> = store
        .call(move |tx| {
            ingest::use_ingest_settings(tx)?;
            let mut known = Vec::with_capacity(names.len());
            for name in &names {
                let cursor = ingest::folder_cursor(tx, account, name)?;
                let (present, skipped) = match &cursor {
                    Some(FolderCursor {
                        id,
                        uidvalidity: Some(uidvalidity),
                        ..
                    }) => (
                        ingest::present_uids(tx, *id, *uidvalidity)?,
                        ingest::skipped_not_present(tx, *id, *uidvalidity)?,
                    ),
                    _ => (Vec::new(), 0),
                };
                known.push(Known {
                    index: known.len(),
                    cursor,
                    present,
                    skipped,
                });
            }
            Ok(known)
        })
        .await?;

    // The parser prepares each message for the session's threader while it is in its cache.
    let preparer = threads
        .lock()
        .map_err(|_| anyhow::anyhow!("the threader was poisoned by a panic"))?
        .preparer();
    let second = match second {
        Some(server) if worth_a_second_connection(session, folders, &known).await? => Some(server),
        _ => None,
    };
    // One raw batch may wait per fetcher.
    let fetchers = 1 + usize::from(second.is_some());
    let (raw_tx, mut raw_rx) = mpsc::channel::<Step<RawItem>>(fetchers);
    // A std channel: the storer waits on it with a deadline, inside its transaction.
    let (parsed_tx, parsed_rx) = std::sync::mpsc::sync_channel::<Step<Fetched>>(PARSED_QUEUE);
    // Stored batches go back to the parser, which allocated them, to be freed there: freeing
    // them was ~5% of the storer's time, the pipeline's slowest stage. Bounded: when the parser
    // does not keep up, the storer frees a batch itself.
    let (stored_tx, stored_rx) = std::sync::mpsc::sync_channel::<Vec<Fetched>>(STORED_QUEUE);
    let started = Instant::now();

    let queue = Mutex::new(VecDeque::from(known));
    let sink = RawSink {
        tx: raw_tx,
        budget: Arc::new(Semaphore::new(if second.is_some() {
            RAW_BATCHES
        } else {
            FETCH_DEPTH + 2
        })),
    };
    let fetcher = fetch_stage(session, second, folders, &queue, sink);

    // The parser: one blocking thread for the whole pass, like the storer, woken by the channel
    // rather than spawned anew for each batch.
    let parser = async move {
        tokio::task::spawn_blocking(move || {
            let mut took = Duration::ZERO;
            while let Some(step) = raw_rx.blocking_recv() {
                let began = Instant::now();
                let parsed = step.parsed(&preparer);
                took += began.elapsed();
                // Blocks while the store is behind: that is the pipeline's back-pressure.
                if parsed_tx.send(parsed).is_err() {
                    break; // the store failed
                }
                let began = Instant::now();
                stored_rx.try_iter().for_each(drop);
                took += began.elapsed();
            }
            took
        })
        .await
        .context("the parser task panicked")
    };

    let storer = {
        let (store, threads) = (store.clone(), threads.clone());
        let folders: Vec<(String, String)> = folders
            .iter()
            .map(|(name, role)| ((*name).to_owned(), (*role).to_owned()))
            .collect();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut storer = Storer::new(account, folders, clock, stored_tx);
                storer.run(&store, &threads, &parsed_rx)?;
                Ok::<_, anyhow::Error>(storer)
            })
            .await
            .context("the store task panicked")?
        }
    };

    let (fetched, parsed, stored) = tokio::join!(fetcher, parser, storer);
    // The store's error first: after it, the other stages only stopped.
    let stored = stored?;
    let parse_took = parsed?;
    let (reports, fetch_took) = fetched?;
    let reports: Vec<FolderSyncReport> = reports
        .into_iter()
        .map(|(index, mut report)| {
            let done = &stored.folders[index];
            report.new_messages = done.outcome.new_messages;
            report.known_messages = done.outcome.known_messages;
            report.skipped = done.outcome.skipped;
            report.gone = done.gone;
            report
        })
        .collect();
    // Where the time goes (RUST_LOG=candor::imap=debug): the slowest stage sets the pace. With two
    // connections, `fetch_ms` is the sum of both fetchers' waits.
    tracing::debug!(
        folders = reports.len(),
        fetched = reports.iter().map(|r| r.fetched).sum::<usize>(),
        commits = stored.commits,
        wall_ms = started.elapsed().as_millis() as u64,
        fetch_ms = fetch_took.as_millis() as u64,
        parse_ms = parse_took.as_millis() as u64,
        store_ms = stored.took.as_millis() as u64,
        "folders fetched, parsed and stored"
    );
    Ok(AccountSyncReport { folders: reports })
}

/// Whether two of the folders never synced before hold [`SECOND_CONNECTION_MESSAGES`] or more
/// each (STATUS, asked only when two or more were never synced). A folder the server will not
/// say it about counts as empty: EXAMINE reports the problem later, if there is one.
async fn worth_a_second_connection(
    session: &mut Session,
    folders: &[(&str, &str)],
    known: &[Known],
) -> Result<bool, ImapError> {
    let never_synced: Vec<&str> = known
        .iter()
        .filter(|k| k.cursor.as_ref().is_none_or(|c| c.uidvalidity.is_none()))
        .map(|k| folders[k.index].0)
        .collect();
    if never_synced.len() < 2 {
        return Ok(false);
    }
    let mut large = 0;
    for name in never_synced {
        let status = timeout(
            COMMAND_TIMEOUT,
            session.status(&super::utf7::encode(name), "(MESSAGES)"),
        )
        .await
        .map_err(|_| ImapError::timed_out(&format!("STATUS {name}")))?;
        match status {
            Ok(mailbox) if mailbox.exists >= SECOND_CONNECTION_MESSAGES => large += 1,
            Ok(_) => {}
            // The server refused: a problem EXAMINE will name. A broken connection is one.
            Err(async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)) => {}
            Err(error) => return Err(ImapError::from_imap(&format!("STATUS {name}"), error)),
        }
        if large == 2 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The fetch stage: the fetcher on `session` and, with `second`, one more on a connection of
/// its own, taking the folders of `queue` in turn. Returns what was fetched per folder, with
/// the folder's index, in folder order, and the time spent waiting for the server.
async fn fetch_stage(
    session: &mut Session,
    second: Option<&Server>,
    folders: &[(&str, &str)],
    queue: &Mutex<VecDeque<Known>>,
    raw_tx: RawSink,
) -> Result<(Vec<(usize, FolderSyncReport)>, Duration), ImapError> {
    let Some(server) = second else {
        return fetch_folders(session, folders, queue, raw_tx).await;
    };
    let first = fetch_folders(session, folders, queue, raw_tx.clone());
    let other = async {
        // Bounded as a whole (the password source included): a server that never greets a
        // second connection delays the pass by this much at most.
        let connected = timeout(SECOND_CONNECT_TIMEOUT, connect(server))
            .await
            .unwrap_or_else(|_| Err(ImapError::timed_out("connecting a second time")));
        let mut extra = match connected {
            Ok(extra) => extra,
            Err(error) => {
                tracing::warn!(
                    "a second connection for the first sync failed ({error}): one does it all"
                );
                return Ok((Vec::new(), Duration::ZERO));
            }
        };
        let fetched = fetch_folders(&mut extra, folders, queue, raw_tx).await;
        if fetched.is_ok() {
            let _ = timeout(LOGOUT_TIMEOUT, extra.logout()).await;
        }
        fetched
    };
    // Both run to their end: what either fetched is stored, whatever befalls the other (a
    // failed one's folders left in the queue are taken by the other). The pass fails if either
    // did; the first connection's error is the one returned, the other's is logged.
    let (first, other) = tokio::join!(first, other);
    let other = other.inspect_err(|error| {
        tracing::warn!("the second connection of the first sync failed: {error}");
    });
    let ((mut reports, took), (more, more_took)) = (first?, other?);
    reports.extend(more);
    reports.sort_by_key(|(index, _)| *index);
    Ok((reports, took + more_took))
}

/// A fetcher: takes the folders of `queue` in turn, examines each on `session` and sends its
/// steps down the pipeline. Returns what it fetched per folder, with the folder's index, and
/// the time spent waiting for the server.
async fn fetch_folders(
    session: &mut Session,
    folders: &[(&str, &str)],
    queue: &Mutex<VecDeque<Known>>,
    raw_tx: RawSink,
) -> Result<(Vec<(usize, FolderSyncReport)>, Duration), ImapError> {
    let mut reports = Vec::new();
    let mut took = Duration::ZERO;
    loop {
        // Poisoned only by a panic while it was locked, which nothing here can cause.
        let next = queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop_front();
        let Some(known) = next else {
            break;
        };
        let index = known.index;
        let (name, role) = folders[index];
        let mut report = FolderSyncReport {
            folder: name.to_owned(),
            ..FolderSyncReport::default()
        };
        let examined = timeout(COMMAND_TIMEOUT, session.examine(super::utf7::encode(name)))
            .await
            .map_err(|_| ImapError::timed_out(&format!("EXAMINE {name}")))?;
        let mailbox = match examined {
            Ok(mailbox) => mailbox,
            // A scope or outcome folder listed but refused (its rights, a damaged index): one
            // folder's problem, reported, not a reason to stop reading the others (found in
            // review: every pass failed, and the outbox never ran). Not reading one of these
            // only ever sends less. The Inbox, Sent and the hold folder are what the gates read
            // before a send (SPEC §7): their refusal fails the pass, and nothing is sent.
            Err(async_imap::error::Error::No(words) | async_imap::error::Error::Bad(words))
                if may_skip(role) =>
            {
                tracing::warn!(
                    folder = name,
                    "the server refused to open this folder: {words}; the other folders are read"
                );
                report.refused = Some(words);
                reports.push((index, report));
                continue;
            }
            Err(e) => return Err(ImapError::from_imap(&format!("EXAMINE {name}"), e)),
        };
        let uidvalidity = mailbox.uid_validity.ok_or_else(|| {
            ImapError::new(
                ImapErrorKind::Protocol,
                format!("EXAMINE {name}"),
                "the server gave no UIDVALIDITY",
            )
        })?;
        let stored_uidvalidity = known.cursor.as_ref().and_then(|c| c.uidvalidity);
        let same = stored_uidvalidity == Some(uidvalidity);
        let (start, present, skipped) = if same {
            let next_uid = known.cursor.as_ref().map_or(1, |c| c.next_uid);
            (next_uid.max(1), known.present, known.skipped)
        } else {
            (1, Vec::new(), 0)
        };
        if !same && stored_uidvalidity.is_some() {
            report.uidvalidity_changed = true;
            tracing::info!(
                folder = name,
                uidvalidity,
                "UIDVALIDITY changed: reading the folder again"
            );
        }
        let begin = Step::Begin {
            folder: index,
            uidvalidity,
            reset: !same,
        };
        if raw_tx.tx.send(begin).await.is_err() {
            break; // the store failed (its error is the one reported)
        }

        let uid_next = match mailbox.uid_next {
            Some(uid_next) => {
                if uid_next < start {
                    tracing::warn!(
                        folder = name,
                        uid_next,
                        cursor = start,
                        "the server's UIDNEXT is below what candor already read: nothing new"
                    );
                }
                uid_next
            }
            // RFC 3501 requires UIDNEXT in EXAMINE's answer. Without it, the highest UID from
            // the cursor on, plus one (`N:*` names the last message even when N is past it).
            None => search_uids(session, &format!("UID {start}:*"))
                .await?
                .into_iter()
                .filter(|&uid| uid >= start)
                .max()
                .map_or(start, |uid| uid.saturating_add(1)),
        };
        let (answered, took_here, sent) =
            fetch_ranges(session, index, start, uid_next, &raw_tx).await?;
        report.fetched = answered.len();
        took += took_here;
        if !sent {
            break;
        }

        // A server that lists a message of the new range but sent no answer for it (RFC 3501
        // requires one; an answer without its UID cannot be filed): the cursor is past it, so
        // it is recorded as skipped, never passed over in silence. Asked whenever the range is
        // not empty: left to the count below, one such message and one expunge hid each other
        // (found in review).
        let missing = if start < uid_next {
            let listed: BTreeSet<u32> =
                search_uids(session, &format!("UID {start}:{}", uid_next - 1))
                    .await?
                    .into_iter()
                    .collect();
            unanswered(&listed, start, uid_next, &answered)
        } else {
            Vec::new()
        };
        // Expunges and moves: only worth a SEARCH when the counts disagree. Every message on
        // the server below `start` was stored as present or skipped, and every one from `start`
        // on was fetched just now or is missing. (Leaving the skipped out would let each of
        // them hide one expunge.)
        let mut gone = Vec::new();
        if present.len() + skipped + answered.len() + missing.len() != mailbox.exists as usize {
            let on_server: BTreeSet<u32> = search_uids(session, "ALL").await?.into_iter().collect();
            gone = present
                .into_iter()
                .filter(|uid| *uid < uid_next && !on_server.contains(uid))
                .collect();
        }
        if !missing.is_empty() {
            tracing::warn!(
                folder = name,
                messages = missing.len(),
                "the server sent no answer for messages it lists: recorded as skipped"
            );
            let items = missing
                .into_iter()
                .map(|uid| RawItem {
                    uid,
                    internal_date: None,
                    bytes: None,
                    refused: Some(
                        "the server lists it but sent no answer to the FETCH that asked for it"
                            .to_owned(),
                    ),
                    short: false,
                })
                .collect();
            let batch = Batch {
                items,
                next_uid: uid_next,
                budget: None,
            };
            if raw_tx
                .tx
                .send(Step::Batch {
                    folder: index,
                    batch,
                })
                .await
                .is_err()
            {
                break;
            }
        }
        reports.push((index, report));
        if raw_tx
            .tx
            .send(Step::End {
                folder: index,
                gone,
            })
            .await
            .is_err()
        {
            break;
        }
    }
    Ok((reports, took))
}

/// What the storer did for one folder.
#[derive(Default)]
struct FolderStored {
    id: Option<(FolderId, u32)>,
    outcome: ingest::BatchOutcome,
    gone: usize,
}

/// The storer, on a blocking thread: applies the steps in order, several batches per
/// transaction.
struct Storer {
    account: AccountId,
    /// Name and role of each folder of the pass.
    names: Vec<(String, String)>,
    folders: Vec<FolderStored>,
    clock: Clock,
    /// Time spent storing (not waiting) and the number of commits.
    took: Duration,
    commits: u32,
    /// Where stored batches go to be freed.
    stored: std::sync::mpsc::SyncSender<Vec<Fetched>>,
}

impl Storer {
    fn new(
        account: AccountId,
        names: Vec<(String, String)>,
        clock: Clock,
        stored: std::sync::mpsc::SyncSender<Vec<Fetched>>,
    ) -> Self {
        let folders = names.iter().map(|_| FolderStored::default()).collect();
        Storer {
            account,
            names,
            folders,
            clock,
            took: Duration::ZERO,
            commits: 0,
            stored,
        }
    }

    /// Stores until the parser is done. Waiting for the first step of a transaction holds no
    /// lock.
    fn run(
        &mut self,
        store: &Store,
        threads: &SharedThreads,
        parsed_rx: &std::sync::mpsc::Receiver<Step<Fetched>>,
    ) -> anyhow::Result<()> {
        while let Ok(first) = parsed_rx.recv() {
            let began = Instant::now();
            let now = self.clock.now();
            let mut waited = Duration::ZERO;
            store.call_relaxed_blocking(|tx| {
                // Each new message gets its thread in the transaction that stores it.
                let mut threads = threads
                    .lock()
                    .map_err(|_| anyhow::anyhow!("the threader was poisoned by a panic"))?;
                let deadline = began + STORE_COMMIT_AFTER;
                let mut messages = 0;
                let mut step = first;
                loop {
                    messages += self.apply(tx, &mut threads, step, now)?;
                    let left = deadline.saturating_duration_since(Instant::now());
                    if messages >= STORE_COMMIT_MESSAGES || left.is_zero() {
                        break;
                    }
                    let wait = Instant::now();
                    let next = parsed_rx.recv_timeout(left);
                    waited += wait.elapsed();
                    match next {
                        Ok(next) => step = next,
                        // Nothing more in time, or the parser is done: commit what we have.
                        Err(_) => break,
                    }
                }
                Ok(())
            })?;
            self.took += began.elapsed().saturating_sub(waited);
            self.commits += 1;
        }
        Ok(())
    }

    /// Applies one step in the caller's transaction; returns the number of messages stored.
    fn apply(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        threads: &mut Threads,
        step: Step<Fetched>,
        now: jiff::Timestamp,
    ) -> anyhow::Result<usize> {
        match step {
            Step::Begin {
                folder,
                uidvalidity,
                reset,
            } => {
                let (name, role) = &self.names[folder];
                let cursor = ingest::ensure_folder(tx, self.account, name, role)?;
                if reset {
                    ingest::reset_uidvalidity(tx, cursor.id, uidvalidity, now)?;
                }
                self.folders[folder].id = Some((cursor.id, uidvalidity));
                Ok(0)
            }
            Step::Batch { folder, batch } => {
                let done = &mut self.folders[folder];
                let (id, uidvalidity) = done.id.context("a batch before its folder began")?;
                let one = threads.store_batch(
                    tx,
                    self.account,
                    id,
                    uidvalidity,
                    &batch.items,
                    batch.next_uid,
                    now,
                )?;
                done.outcome.add_counts(&one);
                let stored = batch.items.len();
                // Freed here only if the parser's queue of stored batches is full.
                let _ = self.stored.try_send(batch.items);
                Ok(stored)
            }
            Step::End { folder, gone } => {
                let done = &mut self.folders[folder];
                let (id, uidvalidity) = done.id.context("the end of a folder that never began")?;
                if !gone.is_empty() {
                    done.gone = ingest::mark_gone(tx, id, uidvalidity, &gone, now)?;
                }
                ingest::folder_synced(tx, id, now)?;
                Ok(0)
            }
        }
    }
}

fn parse_item(item: RawItem) -> Fetched {
    let uid = item.uid;
    let Some(bytes) = item.bytes else {
        let reason = match item.refused {
            Some(why) => format!("the server did not send this message ({why})"),
            None => "the server returned no header for this message".to_owned(),
        };
        return Fetched::Skipped { uid, reason };
    };
    let Some(internal_date) = item.internal_date else {
        return Fetched::Skipped {
            uid,
            reason: "the server returned no INTERNALDATE for this message".to_owned(),
        };
    };
    match mail::parse_received(&bytes, internal_date) {
        Ok(message) => Fetched::parsed(uid, internal_date, message),
        Err(err) => Fetched::Skipped {
            uid,
            reason: err.to_string(),
        },
    }
}

/// Fetches `[start, uid_next)` of the examined folder range by range into `raw_tx`, each batch
/// with the cursor that covers it. Returns the UIDs answered (sorted), the time spent waiting for
/// the server, and whether the store still takes batches (false once it failed).
///
/// Up to [`FETCH_DEPTH`] UID FETCH commands are in flight, as the budget of raw ranges allows
/// (pipelining, RFC 3501 §5.5): the server
/// works on the next ranges while candor still reads range k, so no round trip separates them.
/// Answers are filed by UID (the ranges are disjoint, and a server may interleave the untagged
/// answers of independent commands); a range is complete at its tagged response.
async fn fetch_ranges(
    session: &mut Session,
    folder: usize,
    start: u32,
    uid_next: u32,
    raw_tx: &RawSink,
) -> Result<(Vec<u32>, Duration, bool), ImapError> {
    let query = fetch_items();
    let mut wire = Wire::new();
    // The answers stream in: read them in large gulps (imap/socket.rs).
    session.get_mut().set_bulk(true);
    let result =
        fetch_ranges_with(session, &mut wire, folder, start, uid_next, raw_tx, &query).await;
    session.get_mut().set_bulk(false);
    if result.is_ok() {
        settle(&mut wire)?;
    }
    result
}

async fn fetch_ranges_with(
    session: &mut Session,
    wire: &mut Wire,
    folder: usize,
    start: u32,
    uid_next: u32,
    raw_tx: &RawSink,
    query: &str,
) -> Result<(Vec<u32>, Duration, bool), ImapError> {
    // FETCH_DEPTH commands in flight, one once the server has refused a command.
    let mut depth = FETCH_DEPTH;
    let (mut answered, mut took) = (Vec::new(), Duration::ZERO);
    let mut in_flight = VecDeque::new();
    // The start of the next range to ask for.
    let mut to_send = start;
    loop {
        while in_flight.len() < depth && to_send < uid_next {
            // A range holds its share of the budget from when it is asked for (its answers may
            // come at any time after) until it is parsed. Another is asked for only if there is
            // room; with none in flight, this fetcher waits for room.
            let budget = if in_flight.is_empty() {
                Arc::clone(&raw_tx.budget)
                    .acquire_owned()
                    .await
                    .expect("the budget of raw batches is never closed")
            } else {
                match Arc::clone(&raw_tx.budget).try_acquire_owned() {
                    Ok(budget) => budget,
                    Err(_) => break,
                }
            };
            let end = to_send.saturating_add(BATCH_UIDS - 1).min(uid_next - 1);
            let mut range = send_range(session, query, (to_send, end)).await?;
            range.budget = Some(budget);
            in_flight.push_back(range);
            to_send = end.saturating_add(1);
        }
        if in_flight.is_empty() {
            break;
        }
        let began = Instant::now();
        read_answers(session, wire, &mut in_flight, Until::FirstDone).await?;
        let mut range = in_flight.pop_front().expect("a range is in flight");
        if let Some(why) = range.refused.take() {
            // Finish the commands after it (their ranges are asked again), then ask for this
            // range alone; from now on one command at a time.
            tracing::warn!(range = ?range.range, "the server refused a FETCH: {why}; asking again");
            read_answers(session, wire, &mut in_flight, Until::AllDone).await?;
            in_flight.clear();
            to_send = range.range.1.saturating_add(1);
            depth = 1;
            let mut again = send_range(session, query, range.range).await?;
            again.budget = range.budget.take();
            in_flight.push_back(again);
            read_answers(session, wire, &mut in_flight, Until::FirstDone).await?;
            range = in_flight
                .pop_front()
                .expect("the range asked again is in flight");
            if let Some(why) = range.refused.take() {
                // Still refused: every message of the range it did not send is recorded as
                // skipped with the server's words, never passed over in silence.
                let (a, b) = range.range;
                settle(wire)?;
                for uid in search_uids(session, &format!("UID {a}:{b}")).await? {
                    if (a..=b).contains(&uid) {
                        range.items.push(RawItem {
                            uid,
                            internal_date: None,
                            bytes: None,
                            refused: Some(why.clone()),
                            short: false,
                        });
                    }
                }
            }
        }
        let mut items = merge_by_uid(std::mem::take(&mut range.items));
        if items.iter().any(|i| i.short) {
            // The commands in flight finish first: no answer of theirs mixes with these.
            read_answers(session, wire, &mut in_flight, Until::AllDone).await?;
            complete_short(session, wire, &mut items).await?;
        }
        took += began.elapsed();
        answered.extend(items.iter().map(|i| i.uid));
        let batch = Batch {
            items,
            // The cursor after this batch covers the whole range, also UIDs that no longer exist.
            next_uid: range.range.1.saturating_add(1),
            budget: range.budget.take(),
        };
        if raw_tx.tx.send(Step::Batch { folder, batch }).await.is_err() {
            // The store failed (its error is the one reported): finish the commands sent.
            read_answers(session, wire, &mut in_flight, Until::AllDone).await?;
            return Ok((answered, took, false));
        }
    }
    answered.sort_unstable();
    Ok((answered, took, true))
}

/// Sends `UID FETCH a:b`.
async fn send_range(
    session: &mut Session,
    query: &str,
    (a, b): (u32, u32),
) -> Result<InFlight, ImapError> {
    send_fetch(session, &format!("{a}:{b}"), query, (a, b)).await
}

/// Sends `UID FETCH <set> <query>`; its answers are filed under `range`, which holds the set.
async fn send_fetch(
    session: &mut Session,
    set: &str,
    query: &str,
    range: (u32, u32),
) -> Result<InFlight, ImapError> {
    let command = format!("UID FETCH {set} {query}");
    let tag = timeout(COMMAND_TIMEOUT, session.run_command(&command))
        .await
        .map_err(|_| ImapError::timed_out("UID FETCH"))?
        .map_err(|e| ImapError::from_imap("UID FETCH", e))?;
    Ok(InFlight {
        tag,
        range,
        items: Vec::new(),
        done: false,
        refused: None,
        budget: None,
    })
}

/// Asks again, header and text apart, for the messages of `items` (in UID order) whose prefix
/// was short, and puts what comes back in their place. Call it with no other command in flight.
/// A message the server does not send again keeps its prefix if that holds the whole header
/// block (only its body is shorter than usual); otherwise it is skipped with the reason.
async fn complete_short(
    session: &mut Session,
    wire: &mut Wire,
    items: &mut [RawItem],
) -> Result<(), ImapError> {
    let uids: Vec<u32> = items.iter().filter(|i| i.short).map(|i| i.uid).collect();
    let (Some(&first), Some(&last)) = (uids.first(), uids.last()) else {
        return Ok(());
    };
    tracing::debug!(
        messages = uids.len(),
        "prefixes short of the header and {} bytes of text: asking again",
        mail::BODY_PREFIX_BYTES
    );
    let set = uids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut again =
        VecDeque::from([send_fetch(session, &set, &header_and_text_items(), (first, last)).await?]);
    read_answers(session, wire, &mut again, Until::FirstDone).await?;
    let answer = again.pop_front().expect("the command is in flight");
    for fresh in merge_by_uid(answer.items) {
        if let Ok(at) = items.binary_search_by_key(&fresh.uid, |i| i.uid)
            && items[at].short
            && fresh.bytes.is_some()
        {
            items[at].bytes = fresh.bytes;
            items[at].short = false;
        }
    }
    for item in items.iter_mut().filter(|i| i.short) {
        item.short = false;
        if item.bytes.as_deref().and_then(mail::body_start).is_none() {
            item.bytes = None;
            item.refused = Some(format!(
                "its header block is longer than the {PREFIX_BYTES} bytes asked for first, and \
                 asking for the header alone got {}",
                answer.refused.as_deref().unwrap_or("no answer for it")
            ));
        }
    }
    Ok(())
}

/// Whether a pass may go on without a folder of this role that the server refused to open:
/// a scope or outcome folder (fewer candidates or decisions seen, so fewer emails), never the
/// Inbox, Sent or the hold folder, which the gates read before every send.
fn may_skip(role: &str) -> bool {
    role == "scope" || role.starts_with("outcome")
}

/// The UIDs of `[start, uid_next)` that the server lists but that no FETCH answer came for;
/// `answered` is sorted.
fn unanswered(on_server: &BTreeSet<u32>, start: u32, uid_next: u32, answered: &[u32]) -> Vec<u32> {
    if start >= uid_next {
        return Vec::new();
    }
    on_server
        .range(start..uid_next)
        .filter(|uid| answered.binary_search(uid).is_err())
        .copied()
        .collect()
}

/// One item per UID, in UID order. A server may split one message's data over several FETCH
/// answers or add an unsolicited one (new flags, with the UID during UID commands): the answers
/// of a UID are merged, each field taken from the first answer that has it.
fn merge_by_uid(mut items: Vec<RawItem>) -> Vec<RawItem> {
    items.sort_by_key(|i| i.uid);
    let mut merged: Vec<RawItem> = Vec::with_capacity(items.len());
    for item in items {
        match merged.last_mut() {
            Some(last) if last.uid == item.uid => {
                if last.bytes.is_none() {
                    last.bytes = item.bytes;
                    last.short = item.short;
                }
                last.internal_date = last.internal_date.or(item.internal_date);
                last.refused = last.refused.take().or(item.refused);
            }
            _ => merged.push(item),
        }
    }
    merged
}

/// One UID FETCH command sent and not yet consumed.
struct InFlight {
    tag: async_imap::imap_proto::RequestId,
    range: (u32, u32),
    items: Vec<RawItem>,
    /// Its tagged response has been read.
    done: bool,
    /// The server's words if that response was not OK.
    refused: Option<String>,
    /// The range's share of [`RAW_BATCHES`], when it is one of a folder's ranges.
    budget: Option<OwnedSemaphorePermit>,
}

/// How long [`read_answers`] reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    FirstDone,
    AllDone,
}

/// Reads answers off the connection (through `wire`, not the session: see imap/wire.rs), filing
/// each FETCH item under the in-flight range holding its UID, until the first (or every) range
/// in flight is done. Items outside every range (`N:M` may answer others, and unsolicited FETCH
/// responses report flag changes) and other untagged answers are dropped: the next pass sees
/// new and vanished messages.
async fn read_answers(
    session: &mut Session,
    wire: &mut Wire,
    in_flight: &mut VecDeque<InFlight>,
    until: Until,
) -> Result<(), ImapError> {
    let pending = |in_flight: &VecDeque<InFlight>| match until {
        Until::FirstDone => in_flight.front().is_some_and(|f| !f.done),
        Until::AllDone => in_flight.iter().any(|f| !f.done),
    };
    while pending(in_flight) {
        let response = wire
            .next(session.get_mut(), FETCH_ITEM_TIMEOUT)
            .await
            .map_err(wire_error)?;
        match response {
            wire::Response::Fetch(fetch) => {
                let Some(item) = raw_item(fetch) else {
                    continue;
                };
                // Flags alone (an unsolicited update): nothing to store.
                if item.bytes.is_none() && item.internal_date.is_none() {
                    continue;
                }
                if let Some(range) = in_flight
                    .iter_mut()
                    .find(|f| (f.range.0..=f.range.1).contains(&item.uid))
                {
                    range.items.push(item);
                }
            }
            wire::Response::Done { tag, status, text } => {
                if let Some(range) = in_flight.iter_mut().find(|f| f.tag.0 == tag) {
                    range.done = true;
                    if status != wire::Status::Ok {
                        range.refused = Some(format!("{status:?} {text}"));
                    }
                }
            }
            wire::Response::Other => {}
        }
    }
    Ok(())
}

/// Before the session reads again: the answers read through `wire` must all have been used.
/// What a server sent after them unasked (flag updates, new-message counts) is dropped like
/// [`read_answers`] drops it; a response cut short there cannot be handed back.
fn settle(wire: &mut Wire) -> Result<(), ImapError> {
    while wire.has_unread() {
        match wire.next_buffered().map_err(wire_error)? {
            Some(_) => {}
            None => {
                return Err(ImapError::new(
                    ImapErrorKind::Protocol,
                    "UID FETCH",
                    "the server sent part of a response after its answers",
                ));
            }
        }
    }
    Ok(())
}

fn wire_error(error: WireError) -> ImapError {
    let kind = match &error {
        WireError::Io(_) | WireError::Closed | WireError::Bye(_) => ImapErrorKind::Network,
        WireError::TimedOut(_) => return ImapError::timed_out("UID FETCH"),
        WireError::Protocol(_) => ImapErrorKind::Protocol,
    };
    ImapError::new(kind, "UID FETCH", error)
}

/// The UID, INTERNALDATE and message bytes of one FETCH answer: the header block and at most
/// [`mail::BODY_PREFIX_BYTES`] of body, from the message prefix (`BODY[]<0>`), or from the header
/// and text sections when those are what was asked for.
fn raw_item(fetch: wire::Fetch<'_>) -> Option<RawItem> {
    let (bytes, short) = match (fetch.header, fetch.message) {
        (Some(header), _) => {
            let text: &[u8] = fetch.text.as_deref().unwrap_or_default();
            let text = &text[..text.len().min(mail::BODY_PREFIX_BYTES as usize)];
            (Some([&header[..], text].concat()), false)
        }
        (None, Some(prefix)) => {
            let (cut, short) = prefix_cut(&prefix);
            (Some(prefix[..cut].to_vec()), short)
        }
        (None, None) => (None, false),
    };
    Some(RawItem {
        uid: fetch.uid?,
        internal_date: fetch.internal_date,
        bytes,
        refused: None,
        short,
    })
}

/// Where a message prefix is cut so that it holds the header block and at most
/// [`mail::BODY_PREFIX_BYTES`] of body, and whether it is short of that: it stops at
/// [`PREFIX_BYTES`] (the message goes on) before that much body, or inside the header block.
fn prefix_cut(prefix: &[u8]) -> (usize, bool) {
    // A server that ignores the partial range sends the whole message: the same cut applies.
    let ended = prefix.len() < PREFIX_BYTES as usize;
    match mail::body_start(prefix) {
        Some(body) => {
            let want = body + mail::BODY_PREFIX_BYTES as usize;
            (want.min(prefix.len()), !ended && want > prefix.len())
        }
        None => (prefix.len(), !ended),
    }
}

/// What one FETCH asks for: the message prefix of [`PREFIX_BYTES`], without setting `\Seen`.
///
/// One prefix rather than `BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.N>`: Dovecot spent a third less
/// CPU serving it (4.3 against 2.8 core-seconds per 100k messages), and that CPU is what candor's
/// parser and store share the machine with (issue 4). `examples/fetch_floor` asks for the same.
pub fn fetch_items() -> String {
    format!("(UID INTERNALDATE BODY.PEEK[]<0.{PREFIX_BYTES}>)")
}

/// What is asked again for messages whose prefix was short: the header block whatever its
/// size, and the start of the text.
fn header_and_text_items() -> String {
    format!(
        "(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{}>)",
        mail::BODY_PREFIX_BYTES
    )
}

async fn search_uids(session: &mut Session, query: &str) -> Result<Vec<u32>, ImapError> {
    let command = format!("UID SEARCH {query}");
    let set = timeout(COMMAND_TIMEOUT, session.uid_search(query))
        .await
        .map_err(|_| ImapError::timed_out(&command))?
        .map_err(|e| ImapError::from_imap(&command, e))?;
    let mut uids: Vec<u32> = set.into_iter().collect();
    uids.sort_unstable();
    Ok(uids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(uid: u32, bytes: Option<&[u8]>, date: Option<i64>) -> RawItem {
        RawItem {
            uid,
            internal_date: date.map(|s| jiff::Timestamp::from_second(s).unwrap()),
            bytes: bytes.map(<[u8]>::to_vec),
            refused: None,
            short: false,
        }
    }

    /// A message with a header block of about `header` bytes and a body of `body` bytes.
    fn message(header: usize, body: usize) -> Vec<u8> {
        let mut raw = b"Subject: x\r\n".to_vec();
        while raw.len() + 40 <= header {
            raw.extend_from_slice(b"Received: by relay.example; 1 Jan 2026\r\n");
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend(std::iter::repeat_n(b'a', body));
        raw
    }

    fn prefix(raw: &[u8]) -> &[u8] {
        &raw[..raw.len().min(PREFIX_BYTES as usize)]
    }

    /// Found in review: an out-of-office reply's return date was read relative to its Date
    /// header even where SPEC §2 makes INTERNALDATE the message's time (a Date missing or over a
    /// day off): "back on Monday 9 March" from a server whose clock is a year behind paused
    /// the conversation until a day a year ago, and without a Date no return date was read.
    #[test]
    fn an_out_of_office_date_is_read_relative_to_the_message_time() {
        let received = jiff::Timestamp::from_second(1_772_445_600).unwrap(); // 2026-03-02 10:00Z
        let ooo = |date_header: &str| {
            let raw = format!(
                "From: Ann <ann@c.example>\r\nTo: jane@agency.example\r\n{date_header}Message-ID: <ooo@c.example>\r\nSubject: Out of Office: Backend role\r\nAuto-Submitted: auto-replied\r\n\r\nI am out of the office and back on Monday 9 March.\r\n"
            );
            match parse_item(item(7, Some(raw.as_bytes()), Some(received.as_second()))) {
                Fetched::Parsed { message, .. } => (message.class, message.ooo_until),
                Fetched::Skipped { reason, .. } => panic!("skipped: {reason}"),
            }
        };
        let want = (mail::Class::AutoReply, Some(jiff::civil::date(2026, 3, 9)));
        assert_eq!(ooo("Date: Mon, 2 Mar 2026 10:59:00 +0100\r\n"), want);
        assert_eq!(ooo("Date: Sun, 2 Mar 2025 10:59:00 +0100\r\n"), want);
        assert_eq!(ooo(""), want);
    }

    #[test]
    fn a_prefix_is_cut_to_the_header_and_the_body_prefix_or_marked_short() {
        let text = mail::BODY_PREFIX_BYTES as usize;
        // A small message arrives whole.
        let small = message(1_000, 2_000);
        assert_eq!(prefix_cut(prefix(&small)), (small.len(), false));
        // A long one with a usual header: the header and exactly the body prefix.
        let long = message(1_000, 100_000);
        let body = mail::body_start(&long).unwrap();
        assert_eq!(prefix_cut(prefix(&long)), (body + text, false));
        // The same whole, from a server that ignored the range: cut the same way.
        assert_eq!(prefix_cut(&long), (body + text, false));
        // A complete message whose body is longer than the body prefix but shorter than the
        // prefix: cut to the body prefix too.
        let middle = message(1_000, text + 2_000);
        assert_eq!(prefix_cut(prefix(&middle)).0, body + text);
        // A header longer than the allowance: less body than promised, so asked again.
        let big_header = message(HEADER_ALLOWANCE_BYTES as usize + 2_000, 100_000);
        assert!(prefix_cut(prefix(&big_header)).1);
        // A header longer than the whole prefix: asked again.
        let huge_header = message(PREFIX_BYTES as usize + 5_000, 10);
        assert_eq!(
            prefix_cut(prefix(&huge_header)),
            (PREFIX_BYTES as usize, true)
        );
        // A big header in a message that ends inside the prefix is whole: not asked again.
        let complete = message(HEADER_ALLOWANCE_BYTES as usize + 2_000, 3_000);
        assert_eq!(prefix_cut(prefix(&complete)), (complete.len(), false));
        // No empty line at all in a message that ends inside the prefix: all header, as sent.
        assert_eq!(prefix_cut(b"Subject: x\r\n"), (12, false));
    }

    #[test]
    fn answers_are_read_from_the_prefix_or_from_header_and_text() {
        use std::borrow::Cow;
        let long = message(1_000, 100_000);
        let body = mail::body_start(&long).unwrap();
        // An answer to `BODY.PEEK[]<0.N>`: the message's prefix.
        let prefix_answer = |uid, raw| {
            raw_item(wire::Fetch {
                uid: Some(uid),
                message: Some(Cow::Borrowed(prefix(raw))),
                ..wire::Fetch::default()
            })
            .unwrap()
        };
        let from_prefix = prefix_answer(4, &long);
        let expected = &long[..body + mail::BODY_PREFIX_BYTES as usize];
        assert_eq!(from_prefix.bytes.as_deref(), Some(expected));
        assert!(!from_prefix.short);

        let from_sections = raw_item(wire::Fetch {
            uid: Some(4),
            header: Some(Cow::Borrowed(&long[..body])),
            text: Some(Cow::Borrowed(&long[body..])),
            ..wire::Fetch::default()
        })
        .unwrap();
        assert_eq!(
            from_sections.bytes, from_prefix.bytes,
            "the same bytes either way"
        );

        let huge_header = message(PREFIX_BYTES as usize + 5_000, 10);
        let short = prefix_answer(5, &huge_header);
        assert!(short.short);
        // Merging keeps the flag with the bytes it describes.
        let merged = merge_by_uid(vec![item(5, None, Some(1)), short]);
        assert!(merged[0].short && merged[0].internal_date.is_some());
    }

    #[test]
    fn answers_of_one_uid_are_merged_field_by_field_in_uid_order() {
        let merged = merge_by_uid(vec![
            item(7, Some(b"seven"), Some(70)),
            // An unsolicited update that arrived before the message's own answer.
            item(5, None, None),
            item(5, Some(b"five"), None),
            // The rest of message 5, in a second answer.
            item(5, None, Some(50)),
        ]);
        let summary: Vec<String> = merged
            .iter()
            .map(|i| {
                format!(
                    "{} {:?} {:?}",
                    i.uid,
                    i.bytes.as_deref().map(String::from_utf8_lossy),
                    i.internal_date.map(|d| d.as_second())
                )
            })
            .collect();
        assert_eq!(
            summary,
            [r#"5 Some("five") Some(50)"#, r#"7 Some("seven") Some(70)"#]
        );
    }

    #[test]
    fn uids_the_server_lists_in_the_range_but_never_answered_are_found() {
        let on_server: BTreeSet<u32> = [1, 3, 5, 7, 9, 11].into_iter().collect();
        // Fetched from 3 up to (not including) 11; 5 and 9 came, 3 and 7 did not; 1 is below
        // the range and 11 arrived after it.
        assert_eq!(unanswered(&on_server, 3, 11, &[5, 9]), vec![3, 7]);
        assert_eq!(
            unanswered(&on_server, 3, 11, &[3, 5, 7, 9]),
            Vec::<u32>::new()
        );
        assert_eq!(unanswered(&on_server, 12, 20, &[]), Vec::<u32>::new());
    }

    #[test]
    fn only_scope_and_outcome_folders_may_be_skipped_when_refused() {
        for role in ["scope", "outcome:withdrawn", "outcome:not_selected"] {
            assert!(may_skip(role), "{role}");
        }
        for role in ["inbox", "sent", "hold"] {
            assert!(!may_skip(role), "{role}");
        }
    }

    /// Found in review: a server whose UIDNEXT fell below the cursor (an expunge, and a server
    /// that computes UIDNEXT from the highest UID) made the range empty the wrong way round, and
    /// the range panicked, stopping the account's task.
    #[test]
    fn a_uidnext_below_the_cursor_finds_nothing_unanswered() {
        let on_server: BTreeSet<u32> = [98, 99].into_iter().collect();
        assert_eq!(unanswered(&on_server, 101, 100, &[]), Vec::<u32>::new());
        assert_eq!(unanswered(&on_server, 100, 100, &[]), Vec::<u32>::new());
    }

    #[test]
    fn a_message_the_server_refused_to_send_is_skipped_with_its_words() {
        let refused = RawItem {
            refused: Some("No Some messages could not be FETCHed".to_owned()),
            ..item(9, None, None)
        };
        match parse_item(refused) {
            Fetched::Skipped { uid, reason } => {
                assert_eq!(uid, 9);
                assert!(reason.contains("could not be FETCHed"), "{reason}");
            }
            Fetched::Parsed { .. } => panic!("nothing to parse"),
        }
        match parse_item(item(3, None, Some(1))) {
            Fetched::Skipped { reason, .. } => assert!(reason.contains("no header"), "{reason}"),
            Fetched::Parsed { .. } => panic!("nothing to parse"),
        }
    }
}
