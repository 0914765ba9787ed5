//! The durable outbox (SPEC §8): due emails become rows with their final Message-ID and bytes
//! before anything is sent; the attempt count rises before each try; a try whose outcome is
//! unknown is never repeated. The outbox decides nothing: the policy does, and its gates are
//! checked again right before each send, after a fresh sync of Inbox and Sent.

pub mod compose;
pub mod digest;
mod smtp;

use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use rand::Rng as _;
use tokio::sync::watch;

use crate::clock::Clock;
use crate::config::{Account, Mode};
use crate::failpoint;
use crate::imap::{self, FolderPlan, Session, SharedThreads};
use crate::plan::{self, AccountPlan, Verdict};
use crate::policy::{self, Gate, Kind, Planned};
use crate::store::Store;
use crate::store::ingest::AccountId;
use crate::store::mailbox;
use crate::store::outbox::{self as rows, Channel, NewOutboxRow, OutboxRow};
use compose::{Envelope, Templates, Vars};

/// Attempts after which a transient failure becomes `failed` (reported, never retried).
const MAX_ATTEMPTS: i64 = 8;

/// What one cycle did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CycleReport {
    pub queued: usize,
    pub sent: usize,
    pub drafted: usize,
    pub recorded: usize,
    pub failed: usize,
    pub unknown: usize,
    pub cancelled: usize,
    pub retrying: usize,
    /// When the policy wants to look again at the latest.
    pub next_deadline: Option<Timestamp>,
}

/// Everything a cycle needs about the account's IMAP side.
pub struct Mailbox<'a> {
    pub session: &'a mut Session,
    pub folders: &'a FolderPlan,
    pub threads: &'a SharedThreads,
}

fn sent_folder(folders: &FolderPlan) -> Option<&str> {
    folders
        .folders
        .iter()
        .find(|(_, role)| role == "sent")
        .map(|(name, _)| name.as_str())
}

async fn plan_now(store: &Store, account: &Account, now: Timestamp) -> anyhow::Result<AccountPlan> {
    let (store, account) = (store.clone(), account.clone());
    tokio::task::spawn_blocking(move || plan::plan_account(&store, &account, now))
        .await
        .context("the planning task failed")?
}

/// Whether a stop was asked for (the flag as last set).
pub(crate) fn stop_asked(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// One cycle for one account: recover interrupted sends, queue what is due, re-check and
/// deliver. The session must be connected; it is left with some folder examined.
///
/// Once `stop` turns true no new attempt begins: the cycle returns before its fresh sync and
/// before each send or draft, and the rows not tried stay `queued` for the next start. Only an
/// attempt already under way goes on, within the grace the caller gives it. Found in review: a
/// stop during the planning or the fresh sync still began a send, which the grace then cut,
/// leaving the row `sending` (then `unknown`, and the conversation held).
#[allow(clippy::too_many_arguments)]
pub async fn cycle(
    store: &Store,
    account: &Account,
    account_id: AccountId,
    mailbox: Mailbox<'_>,
    templates: &Templates,
    clock: Clock,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<CycleReport> {
    let mut report = CycleReport::default();
    recover(store, account, mailbox.session, mailbox.folders, clock).await?;

    let now = clock.now();
    let plan = plan_now(store, account, now).await?;
    report.next_deadline = plan
        .verdicts
        .iter()
        .filter_map(|v| v.decision.next_deadline)
        .min();
    for verdict in &plan.verdicts {
        let Some(planned) = verdict.decision.planned.as_ref() else {
            continue;
        };
        if verdict.decision.held.is_some() || planned.due > now {
            continue;
        }
        let state = queue(
            store, account, account_id, &plan, verdict, planned, templates, now,
        )
        .await?;
        failpoint::hit(failpoint::AFTER_OUTBOX_COMMIT);
        if state == "recorded" {
            report.recorded += 1;
            tracing::info!(account = %account.name, candidate = %plan.account.conversations[verdict.conversation].address, kind = planned.kind.as_str(), "recorded (dry-run): nothing sent");
        } else {
            report.queued += 1;
        }
    }

    let (ready, retry_at): (Vec<OutboxRow>, Option<i64>) = {
        let name = account.name.clone();
        let now_s = clock.now().as_second();
        store
            .call(move |tx| {
                let id = mailbox::account_id(tx, &name)?;
                let all = rows::rows(tx, id)?;
                let retry_at = earliest_retry(&all, now_s);
                let ready = all
                    .into_iter()
                    .filter(|r| {
                        r.state == "queued"
                            && r.kind != "digest"
                            && r.next_try_at.unwrap_or(0) <= now_s
                    })
                    .collect();
                Ok((ready, retry_at))
            })
            .await?
    };
    // A row waiting for its retry is a deadline too: without it the daemon slept until the
    // next incoming email or full sync (outage campaign: a 451 retried 10 minutes late).
    if let Some(at) = retry_at.and_then(|s| Timestamp::from_second(s).ok()) {
        report.next_deadline = Some(report.next_deadline.map_or(at, |d| d.min(at)));
    }
    if ready.is_empty() || stop_asked(stop) {
        return Ok(report);
    }

    // SPEC §7: the gates hold right before the send, after a fresh sync of Inbox and Sent.
    let session = mailbox.session;
    imap::sync_folder(
        store,
        account_id,
        session,
        "INBOX",
        "inbox",
        mailbox.threads,
        clock,
    )
    .await?;
    if let Some(sent) = sent_folder(mailbox.folders) {
        imap::sync_folder(
            store,
            account_id,
            session,
            sent,
            "sent",
            mailbox.threads,
            clock,
        )
        .await?;
    }
    let now = clock.now();
    let fresh = plan_now(store, account, now).await?;
    let config = plan::policy_config(account);
    // When this cycle last handed an email to the server (it may have gone).
    let mut last_send: Option<Timestamp> = None;
    for row in ready {
        // Queued under another mode, before the owner switched to dry-run (found in review: it
        // went out by SMTP). Dry-run only records (SPEC §7.6); what it recorded counts for
        // nothing once the account sends again, so the email is planned afresh then.
        if account.mode == Mode::DryRun {
            let why = "queued before the switch to dry-run: recorded, not sent".to_owned();
            let (id, now_s) = (row.id, now.as_second());
            if store
                .call(move |tx| rows::record_queued(tx, id, &why, now_s))
                .await?
            {
                tracing::info!(account = %account.name, candidate = %row.candidate, kind = %row.kind, "recorded (dry-run): nothing sent");
                report.recorded += 1;
            }
            continue;
        }
        let verdict = fresh
            .verdicts
            .iter()
            .find(|v| fresh.account.conversations[v.conversation].address == row.candidate);
        let check = match (verdict, Kind::parse(&row.kind)) {
            (Some(v), Some(kind)) => {
                let planned = Planned {
                    kind,
                    due: Timestamp::from_second(row.due).unwrap_or(now),
                    reply_to: row.reply_to.unwrap_or(0),
                    reason: String::new(),
                };
                // Check the email as if it were not queued yet: the row under test must not count
                // against itself (a queued closure would read as "already closed").
                let mut facts = v.facts.clone();
                facts.automated.retain(|r| {
                    !(r.kind == kind
                        && r.reply_to == planned.reply_to
                        && r.state == policy::OutboxState::Queued)
                });
                // The fresh plan predates this loop: what the loop already sent (or may have)
                // counts towards the daily cap like yesterday's sends.
                let this_cycle = report.sent + report.drafted + report.unknown;
                facts.account_sent_today = facts
                    .account_sent_today
                    .saturating_add(u32::try_from(this_cycle).unwrap_or(u32::MAX));
                // And the account's emails are spaced from this cycle's last one.
                facts.account_last_sent_at = facts.account_last_sent_at.max(last_send);
                policy::gates(&facts, &config, &fresh.account.calendar, &planned, now)
            }
            _ => Err(policy::HeldBack {
                gate: Gate::State,
                detail: "the conversation is gone (forgotten or merged)".to_owned(),
                retry_at: None,
            }),
        };
        if let Err(held) = check {
            if matches!(held.gate, Gate::Window | Gate::Cap | Gate::Spacing)
                && let Some(at) = held.retry_at
            {
                report.retrying += 1;
                report.next_deadline = Some(report.next_deadline.map_or(at, |d| d.min(at)));
                // Held for long (the daily cap until tomorrow, the send window until the
                // morning), a row never attempted is dropped: the plan queues the email afresh
                // when the hold lifts, with that day's Date and "N days ago" (found in review:
                // it went out with the Date and the wording of the day it was queued).
                if row.attempts == 0 && at.duration_since(now) > REQUEUE_AFTER {
                    let id = row.id;
                    if store.call(move |tx| rows::drop_unattempted(tx, id)).await? {
                        tracing::info!(account = %account.name, candidate = %row.candidate, kind = %row.kind, until = %at, "held by gate {}: queued again when it lifts", held.gate.as_str());
                    }
                }
                continue;
            }
            let why = format!(
                "held at send time by gate {}: {}",
                held.gate.as_str(),
                held.detail
            );
            tracing::info!(account = %account.name, candidate = %row.candidate, kind = %row.kind, "cancelled: {why}");
            let (id, now_s) = (row.id, now.as_second());
            store
                .call(move |tx| rows::set_state(tx, id, "cancelled", &why, now_s))
                .await?;
            report.cancelled += 1;
            continue;
        }
        if stop_asked(stop) {
            break;
        }
        let went = report.sent + report.unknown;
        deliver(
            store,
            account,
            session,
            mailbox.folders,
            &row,
            clock,
            &mut report,
        )
        .await?;
        // At the cycle's `now`, the instant its checks read: later rows are spaced from it.
        if report.sent + report.unknown > went {
            last_send = Some(now);
        }
    }
    Ok(report)
}

/// How long a hold may last before a queued row that was never attempted is dropped, to be
/// queued afresh (its Date and wording current) when the hold lifts.
const REQUEUE_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_hours(1);

/// Creates the row for a due email: final Message-ID and bytes, committed before any send.
#[allow(clippy::too_many_arguments)]
async fn queue(
    store: &Store,
    account: &Account,
    account_id: AccountId,
    plan: &AccountPlan,
    verdict: &Verdict,
    planned: &Planned,
    templates: &Templates,
    now: Timestamp,
) -> anyhow::Result<&'static str> {
    let conversation = &plan.account.conversations[verdict.conversation];
    let messages = &plan.account.messages;
    let answered = conversation
        .messages
        .iter()
        .map(|&i| &messages[i])
        .find(|m| m.key == planned.reply_to)
        .context("the message to answer is not in the conversation")?;
    let candidate_mail = conversation.candidate_latest_mail(messages);
    let recipient = conversation.recipient(messages);
    // From the owner address the candidate last wrote to, else the first one.
    let from_address = candidate_mail
        .and_then(|m| {
            m.to.iter()
                .chain(&m.cc)
                .find(|a| plan.account.identity.is_owner(a))
                .cloned()
        })
        .or_else(|| account.owner_addresses.first().cloned())
        .context("the account has no owner address")?;
    let domain = from_address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("candor.invalid");
    let message_id = format!(
        "candor.{:016x}{:016x}@{domain}",
        rand::rng().random::<u64>(),
        rand::rng().random::<u64>()
    );
    let (refs_id, refs, subject) = {
        let key = answered.key;
        store
            .call(move |tx| mailbox::message_refs(tx, key))
            .await?
            .unwrap_or_default()
    };
    let mut references: Vec<String> = refs.split_whitespace().map(str::to_owned).collect();
    if let Some(id) = &refs_id {
        references.push(id.clone());
    }
    let owner_message_time = answered.time;
    let vars = Vars {
        candidate_name: conversation.name.clone(),
        candidate_address: recipient.clone(),
        subject: compose::display_subject(&subject),
        owner_name: account.owner_name.clone(),
        owner_signature: account.signature.clone(),
        days_since: (now.as_second() - owner_message_time.as_second()).max(0) / 86_400,
    };
    let (text, html) = templates.render(planned.kind.as_str(), &vars)?;
    let state = if account.mode == Mode::DryRun {
        "recorded"
    } else {
        "queued"
    };
    let mut envelope = Envelope {
        from_name: account.owner_name.clone(),
        from_address,
        to_name: conversation.name.clone(),
        to_address: recipient.clone(),
        subject: compose::reply_subject(&subject),
        in_reply_to: refs_id,
        references,
        message_id: message_id.clone(),
        kind: planned.kind.as_str().to_owned(),
        outbox_id: 0,
        account: account.name.clone(),
        date: now,
        digest: false,
    };
    let candidate = conversation.address.clone();
    let kind = planned.kind.as_str();
    let (reply_to, due) = (planned.reply_to, planned.due.as_second());
    store
        .call(move |tx| {
            let id = rows::insert(
                tx,
                account_id,
                &NewOutboxRow {
                    candidate: &candidate,
                    recipient: &recipient,
                    kind,
                    state,
                    message_id: &message_id,
                    reply_to: Some(reply_to),
                    due,
                    raw: b"",
                },
                now.as_second(),
            )?;
            envelope.outbox_id = id;
            let raw = compose::build(&envelope, text, html)?;
            tx.execute(
                "UPDATE outbox SET raw = ?2 WHERE id = ?1",
                rusqlite::params![id, raw],
            )?;
            Ok(())
        })
        .await?;
    Ok(state)
}

/// Sends (auto) or drafts (drafts) one row whose gates just passed.
async fn deliver(
    store: &Store,
    account: &Account,
    session: &mut Session,
    folders: &FolderPlan,
    row: &OutboxRow,
    clock: Clock,
    report: &mut CycleReport,
) -> anyhow::Result<()> {
    let id = row.id;
    let now_s = clock.now().as_second();
    let channel = match account.mode {
        Mode::Drafts => Channel::Drafts,
        Mode::Auto => Channel::Smtp,
        // The caller records such rows instead: dry-run never sends (SPEC §7.6).
        Mode::DryRun => anyhow::bail!("an email was about to be delivered in dry-run mode"),
    };
    if !begin_attempt(store, id, now_s, channel).await? {
        return Ok(()); // cancelled by the owner meanwhile
    }
    let raw = store.call(move |tx| rows::raw(tx, id)).await?;
    if channel == Channel::Drafts {
        let Some(drafts) = folders.drafts.as_deref() else {
            let why = "no Drafts folder found: set [account.folders] drafts".to_owned();
            tracing::warn!(account = %account.name, "{why}");
            store
                .call(move |tx| rows::set_state(tx, id, "failed", &why, now_s))
                .await?;
            report.failed += 1;
            return Ok(());
        };
        if !imap::contains_message_id(session, drafts, &row.message_id).await? {
            imap::append(session, drafts, "(\\Draft \\Seen)", &raw).await?;
        }
        let now_s = clock.now().as_second();
        store
            .call(move |tx| {
                rows::set_state(tx, id, "drafted", "", now_s)?;
                rows::mark_copied(tx, id, now_s)
            })
            .await?;
        tracing::info!(account = %account.name, candidate = %row.candidate, kind = %row.kind, folder = drafts, "draft ready for the owner");
        report.drafted += 1;
        return Ok(());
    }
    let from = envelope_from(&raw, account);
    let outcome = smtp::submit(&account.smtp.server, &from, &row.recipient, &raw).await;
    let now_s = clock.now().as_second();
    match outcome {
        smtp::Outcome::Accepted => {
            store
                .call(move |tx| rows::set_state(tx, id, "sent", "", now_s))
                .await?;
            tracing::info!(account = %account.name, candidate = %row.candidate, kind = %row.kind, "sent");
            report.sent += 1;
            failpoint::hit(failpoint::BEFORE_APPEND);
            copy_to_sent(
                store,
                account,
                session,
                folders,
                id,
                &row.message_id,
                &raw,
                clock,
            )
            .await?;
        }
        smtp::Outcome::Permanent(why) => {
            tracing::warn!(account = %account.name, candidate = %row.candidate, kind = %row.kind, "the SMTP server refused the email for good: {why}");
            store
                .call(move |tx| rows::set_state(tx, id, "failed", &why, now_s))
                .await?;
            report.failed += 1;
        }
        smtp::Outcome::Transient(why) if row.attempts + 1 >= MAX_ATTEMPTS => {
            let why = format!("gave up after {} attempts: {why}", row.attempts + 1);
            tracing::warn!(account = %account.name, candidate = %row.candidate, kind = %row.kind, "{why}");
            store
                .call(move |tx| rows::set_state(tx, id, "failed", &why, now_s))
                .await?;
            report.failed += 1;
        }
        smtp::Outcome::Transient(why) => {
            let wait = backoff(row.attempts + 1);
            if row.attempts == 0 {
                // The first failure is worth the owner's eye (a wrong certificate, a refused
                // login): say it at warn once, not only when the retries give up.
                tracing::warn!(account = %account.name, candidate = %row.candidate, seconds = wait.as_secs(), "not sent yet, will retry: {why}");
            } else {
                tracing::info!(account = %account.name, candidate = %row.candidate, seconds = wait.as_secs(), "not sent yet, will retry: {why}");
            }
            let at = now_s + wait.as_secs() as i64;
            store
                .call(move |tx| rows::retry_later(tx, id, at, &why, now_s))
                .await?;
            report.retrying += 1;
        }
        smtp::Outcome::Unknown(why) => {
            let why = format!("the outcome is unknown (never resent automatically): {why}");
            tracing::warn!(account = %account.name, candidate = %row.candidate, kind = %row.kind, "{why}");
            store
                .call(move |tx| rows::set_state(tx, id, "unknown", &why, now_s))
                .await?;
            report.unknown += 1;
        }
    }
    Ok(())
}

/// Marks a queued row `sending` before anything leaves (SPEC §8); false when the row is no
/// longer `queued` (cancelled meanwhile).
///
/// The mark must be on disk before the send, or a crash could send the email twice. A file
/// system that fails at that very moment can acknowledge the commit and then lose it: with ext4
/// aborting its journal, the last acknowledged commit was gone after the repair in 15 of 395
/// trials (`campaigns/fs_ack_loss.py`, RELIABILITY.md), and the outage campaign once saw a
/// follow-up sent again after the repair. A second synced commit fails once the journal is gone,
/// so it confirms the first: no confirmed commit was lost in 380 trials. When the confirmation
/// fails nothing is sent, and the row goes back to `queued` where the store still takes writes.
/// On a failed disk it stays as the disk kept it: `sending` (reported unknown, never resent) or
/// `queued` (sent once after the repair).
pub(crate) async fn begin_attempt(
    store: &Store,
    id: i64,
    now_s: i64,
    channel: Channel,
) -> anyhow::Result<bool> {
    if !store
        .call(move |tx| rows::begin_attempt(tx, id, now_s, channel))
        .await?
    {
        return Ok(false);
    }
    let confirmed = if failpoint::fails(failpoint::CONFIRM_FAILS) {
        Err(anyhow::anyhow!("failpoint {}", failpoint::CONFIRM_FAILS))
    } else {
        store
            .call(move |tx| rows::confirm_attempt(tx, id, now_s))
            .await
    };
    match confirmed {
        Ok(confirmed) => Ok(confirmed),
        Err(error) => {
            let why = format!("not sent: the store did not confirm the attempt: {error:#}");
            // Best effort: where the store takes no writes, the row stays as the disk kept it.
            let released = store
                .call(move |tx| rows::release_attempt(tx, id, &why, now_s))
                .await;
            if let Err(also) = released {
                tracing::debug!("the attempt could not be released either: {also:#}");
            }
            Err(error
                .context("the store did not confirm the record of the attempt; nothing was sent"))
        }
    }
}

/// The envelope sender: the From address of the email itself.
fn envelope_from(raw: &[u8], account: &Account) -> String {
    crate::mail::parse(raw)
        .ok()
        .and_then(|m| m.from.map(|a| a.address))
        .or_else(|| account.owner_addresses.first().cloned())
        .unwrap_or_default()
}

/// When the first queued row that waits for a later try may be tried again.
fn earliest_retry(all: &[OutboxRow], now_s: i64) -> Option<i64> {
    all.iter()
        .filter(|r| r.state == "queued" && r.kind != "digest")
        .filter_map(|r| r.next_try_at)
        .filter(|&at| at > now_s)
        .min()
}

fn backoff(attempt: i64) -> Duration {
    let base = 60u64
        .saturating_mul(1 << attempt.clamp(0, 6) as u64)
        .min(3600);
    Duration::from_secs(rand::rng().random_range(base / 2..=base))
}

/// The copy in Sent, exactly once: skipped where the server files submissions itself, and
/// searched for before appending (a crash may have come between the APPEND and its record).
#[allow(clippy::too_many_arguments)]
async fn copy_to_sent(
    store: &Store,
    account: &Account,
    session: &mut Session,
    folders: &FolderPlan,
    id: i64,
    message_id: &str,
    raw: &[u8],
    clock: Clock,
) -> anyhow::Result<()> {
    if account.smtp.server_saves_sent {
        let now_s = clock.now().as_second();
        return store.call(move |tx| rows::mark_copied(tx, id, now_s)).await;
    }
    let Some(sent) = sent_folder(folders) else {
        tracing::warn!(account = %account.name, "no Sent folder found: the copy of what candor sent is not filed (set [account.folders] sent)");
        return Ok(());
    };
    if !imap::contains_message_id(session, sent, message_id).await? {
        imap::append(session, sent, "(\\Seen)", raw).await?;
    }
    let now_s = clock.now().as_second();
    store.call(move |tx| rows::mark_copied(tx, id, now_s)).await
}

/// After a crash: rows left `sending`, and sent rows whose copy is not in Sent yet.
async fn recover(
    store: &Store,
    account: &Account,
    session: &mut Session,
    folders: &FolderPlan,
    clock: Clock,
) -> anyhow::Result<()> {
    let name = account.name.clone();
    let pending: Vec<OutboxRow> = store
        .call(move |tx| {
            let id = mailbox::account_id(tx, &name)?;
            Ok(rows::rows(tx, id)?
                .into_iter()
                // Digests have their own rules (outbox::digest): never copied to Sent.
                .filter(|r| r.kind != "digest")
                .filter(|r| r.state == "sending" || (r.state == "sent" && !r.copied))
                .collect())
        })
        .await?;
    for row in pending {
        let id = row.id;
        let now_s = clock.now().as_second();
        if row.state == "sent" {
            let raw = store.call(move |tx| rows::raw(tx, id)).await?;
            copy_to_sent(
                store,
                account,
                session,
                folders,
                id,
                &row.message_id,
                &raw,
                clock,
            )
            .await?;
            continue;
        }
        // A row left `sending`: the process died during the try. It is looked for where that
        // try put it, whatever the mode is now (rows from before the channel was recorded: the
        // current mode, as then).
        let drafts_attempt = match row.channel.as_deref() {
            Some(channel) => channel == Channel::Drafts.as_str(),
            None => account.mode == Mode::Drafts,
        };
        if drafts_attempt {
            let found = match folders.drafts.as_deref() {
                Some(drafts) => imap::contains_message_id(session, drafts, &row.message_id).await?,
                None => false,
            };
            let (state, why) = if found {
                ("drafted", "")
            } else {
                ("queued", "interrupted before the draft was saved")
            };
            store
                .call(move |tx| {
                    if state == "queued" {
                        rows::retry_later(tx, id, now_s, why, now_s)
                    } else {
                        rows::set_state(tx, id, state, why, now_s)
                    }
                })
                .await?;
            continue;
        }
        let sent = sent_folder(folders);
        if account.smtp.server_saves_sent
            && let Some(sent) = sent
        {
            if imap::contains_message_id(session, sent, &row.message_id).await? {
                tracing::info!(account = %account.name, candidate = %row.candidate, "an interrupted send is in Sent: it went out");
                store
                    .call(move |tx| {
                        rows::set_state(
                            tx,
                            id,
                            "sent",
                            "found in Sent after an interruption",
                            now_s,
                        )?;
                        rows::mark_copied(tx, id, now_s)
                    })
                    .await?;
            } else {
                // Absence is no proof of refusal: a server may file the copy after a delay, or
                // the setting may be wrong (the test Postfix never files one). Sending again
                // could make two emails, so the outcome is unknown and reported (SPEC §8).
                let why = "interrupted during the SMTP transaction and not found in Sent: the outcome is unknown; check Sent and the candidate's mailbox, then `candor candidate resume`";
                tracing::warn!(account = %account.name, candidate = %row.candidate, kind = %row.kind, "{why}");
                store
                    .call(move |tx| rows::set_state(tx, id, "unknown", why, now_s))
                    .await?;
            }
            continue;
        }
        let why = "interrupted during the SMTP transaction: the outcome is unknown; check Sent and the candidate's mailbox, then `candor candidate resume`";
        tracing::warn!(account = %account.name, candidate = %row.candidate, kind = %row.kind, "{why}");
        store
            .call(move |tx| rows::set_state(tx, id, "unknown", why, now_s))
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, kind: &str, next_try_at: Option<i64>) -> OutboxRow {
        OutboxRow {
            state: state.to_owned(),
            kind: kind.to_owned(),
            next_try_at,
            ..OutboxRow::default()
        }
    }

    /// Regression (outage campaign): a row refused with 451 was retried only when the next email
    /// arrived, because its retry time was not among the cycle's deadlines.
    #[test]
    fn a_retry_waiting_in_the_outbox_is_the_next_deadline() {
        let all = [
            row("queued", "follow_up_1", Some(500)),
            row("queued", "follow_up_1", Some(300)),
            row("queued", "follow_up_1", Some(90)),
            row("queued", "digest", Some(200)),
            row("sent", "follow_up_1", Some(150)),
            row("queued", "follow_up_2", None),
        ];
        assert_eq!(earliest_retry(&all, 100), Some(300));
        assert_eq!(earliest_retry(&all, 600), None);
    }

    /// A fake IMAP server on loopback that accepts LOGIN and never answers anything else: a
    /// cycle that used the session would wait on it.
    async fn silent_imap() -> u16 {
        use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write
                        .write_all(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
                        .await;
                    while let Ok(Some(line)) = lines.next_line().await {
                        let mut words = line.split(' ');
                        let (tag, command) = (words.next().unwrap_or(""), words.next());
                        if command.is_some_and(|c| c.eq_ignore_ascii_case("LOGIN")) {
                            let ok = format!("{tag} OK logged in\r\n");
                            let _ = write.write_all(ok.as_bytes()).await;
                        }
                    }
                });
            }
        });
        port
    }

    /// Regression (review): the cycle had no stop flag. A stop asked for during its planning or
    /// its fresh sync still let it begin a send, which the daemon's grace then cut, leaving the
    /// row `sending` (then `unknown`, the conversation held). Now a cycle that sees the stop
    /// begins no attempt: the queued row stays `queued`, its attempt count untouched, and the
    /// session is not even used for the fresh sync.
    #[tokio::test]
    async fn a_cycle_asked_to_stop_begins_no_attempt() {
        let port = silent_imap().await;
        let account =
            crate::config::loopback_account("auto", port, 9, "[account.scope]\nmode = \"all\"\n");
        let store = Store::open_in_memory().unwrap();
        let clock = Clock::system();
        let now = clock.now();
        let account_id = store
            .call(move |tx| {
                let id = crate::store::ingest::ensure_account(tx, "jane", now)?;
                let row = NewOutboxRow {
                    candidate: "tom@b.example",
                    recipient: "tom@b.example",
                    kind: "follow_up_1",
                    state: "queued",
                    message_id: "candor.1@a.example",
                    reply_to: None,
                    due: now.as_second() - 60,
                    raw: b"Subject: hello\r\n\r\nhello\r\n",
                };
                rows::insert(tx, id, &row, now.as_second() - 60)?;
                Ok(id)
            })
            .await
            .unwrap();
        let mut session = imap::connect(&account.imap).await.unwrap();
        let folders = FolderPlan::default();
        let threads = imap::Threads::load(
            &store,
            account_id,
            crate::conversations::Identity::for_account(&account),
        )
        .await
        .unwrap();
        let templates = Templates::load(None).unwrap();
        let (_stop, stopping) = watch::channel(true);
        let mailbox = Mailbox {
            session: &mut session,
            folders: &folders,
            threads: &threads,
        };
        let cycle = cycle(
            &store, &account, account_id, mailbox, &templates, clock, &stopping,
        );
        let report = tokio::time::timeout(Duration::from_secs(20), cycle)
            .await
            .expect("the cycle went on to use the session after the stop")
            .unwrap();
        assert_eq!((report.sent, report.unknown, report.failed), (0, 0, 0));
        let all = store
            .call(move |tx| rows::rows(tx, Some(account_id)))
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!((all[0].state.as_str(), all[0].attempts), ("queued", 0));
    }
}
