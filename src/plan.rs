//! From the store to the policy and back: assembles each conversation's [`policy::Facts`], runs
//! [`policy::decide`], and hands the result to `candor plan`, the outbox and the digest.
//! Read-only; the only I/O is loading from the store.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;

use crate::config::{self, Account, DigestSchedule};
use crate::conversations::Conversation;
use crate::latency::Side;
use crate::mail::Class;
use crate::policy::{
    self, FactMessage, Facts, Kind, OutboxState, OwnerDecisions, PolicyConfig, SentRecord,
};
use crate::report::facts::{self as account_facts, AccountFacts, matches_exclusion};
use crate::store::Store;
use crate::store::mailbox::{self, Mark};
use crate::store::outbox::{self, CandidateState, OutboxRow};

/// The account's settings as the policy takes them.
pub fn policy_config(account: &Account) -> PolicyConfig {
    PolicyConfig {
        act_on_existing: account.policy.act_on_existing,
        follow_up_after_days: account.policy.follow_up_after_days,
        max_follow_ups: account.policy.max_follow_ups,
        closure_after_days: account.policy.closure_after_days,
        cancel_window_hours: account.policy.cancel_window_hours,
        recruiter_sla_days: account.policy.recruiter_sla_days,
        closing_phrases: account.policy.closing_phrases.clone(),
        opt_out_phrases: account.policy.opt_out_phrases.clone(),
        send_start_minute: account.schedule.send_hours.start_minute,
        send_end_minute: account.schedule.send_hours.end_minute,
        daily_cap: account.schedule.daily_cap,
        mode: match account.mode {
            config::Mode::Auto => policy::Mode::Auto,
            config::Mode::Drafts => policy::Mode::Drafts,
            config::Mode::DryRun => policy::Mode::DryRun,
        },
        digest_on: account.digest.schedule != DigestSchedule::Off,
    }
}

/// What the policy needs beyond the conversations.
#[derive(Default)]
pub struct Extra {
    pub states: BTreeMap<String, CandidateState>,
    pub marks: BTreeMap<String, Mark>,
    pub rows: Vec<OutboxRow>,
    pub first_sync_at: Option<i64>,
    /// message key → first seen in the hold folder.
    pub hold: HashMap<i64, i64>,
    /// outcome → (message key → first seen in its folder).
    pub outcomes: Vec<(policy::Outcome, HashMap<i64, i64>)>,
    pub last_digest_at: Option<i64>,
    pub last_error: Option<String>,
}

/// One conversation's verdict.
pub struct Verdict {
    pub conversation: usize,
    pub facts: Facts,
    pub decision: policy::Decision,
}

/// The whole account: its conversations and a verdict for each.
pub struct AccountPlan {
    pub account: AccountFacts,
    /// `auto`, `drafts` or `dry-run`.
    pub mode_name: &'static str,
    /// The account's last sync error, if the last attempt failed.
    pub last_error: Option<String>,
    pub extra: Extra,
    pub verdicts: Vec<Verdict>,
}

pub fn load_extra(store: &Store, account: &Account) -> anyhow::Result<Extra> {
    let name = account.name.clone();
    let hold = account.folders.hold.clone();
    let outcome_folders: Vec<(policy::Outcome, String)> = account
        .folders
        .outcomes
        .iter()
        .filter_map(|(o, folder)| policy::Outcome::parse(o.as_str()).map(|o| (o, folder.clone())))
        .collect();
    store.call_blocking(move |tx| {
        let Some(id) = mailbox::account_id(tx, &name)? else {
            return Ok(Extra::default());
        };
        let mut outcomes = Vec::new();
        for (outcome, folder) in &outcome_folders {
            outcomes.push((*outcome, mailbox::folder_seen(tx, id, folder)?));
        }
        Ok(Extra {
            states: outbox::candidate_states(tx, id)?,
            marks: mailbox::marks(tx, id)?,
            rows: outbox::rows(tx, Some(id))?,
            first_sync_at: mailbox::first_sync_at(tx, id)?,
            hold: match &hold {
                Some(folder) => mailbox::folder_seen(tx, id, folder)?,
                None => HashMap::new(),
            },
            outcomes,
            last_digest_at: crate::store::digests::last_sent_at(tx, id)?,
            last_error: Some(mailbox::last_error(tx, id)?),
        })
    })
}

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Plans every conversation of the account at `now`.
pub fn plan_account(
    store: &Store,
    account: &Account,
    now: Timestamp,
) -> anyhow::Result<AccountPlan> {
    let facts = account_facts::load(store, account)?;
    let extra = load_extra(store, account)?;
    let config = policy_config(account);
    let verdicts = (0..facts.conversations.len())
        .map(|index| {
            let f = conversation_facts(account, &facts, &extra, index, now);
            let decision = policy::decide(&f, &config, &facts.calendar, now);
            Verdict {
                conversation: index,
                facts: f,
                decision,
            }
        })
        .collect();
    Ok(AccountPlan {
        account: facts,
        mode_name: account.mode.as_str(),
        last_error: extra.last_error.clone(),
        extra,
        verdicts,
    })
}

/// The policy's facts about one conversation.
pub fn conversation_facts(
    account: &Account,
    facts: &AccountFacts,
    extra: &Extra,
    index: usize,
    now: Timestamp,
) -> Facts {
    let conversation: &Conversation = &facts.conversations[index];
    let is_candidate = |a: &String| conversation.addresses.contains(a);
    let list_threads: std::collections::HashSet<i64> = conversation
        .messages
        .iter()
        .map(|&i| &facts.messages[i])
        .filter(|m| m.class == Class::List)
        .map(|m| m.thread)
        .collect();
    let messages = conversation
        .messages
        .iter()
        .map(|&i| {
            let m = &facts.messages[i];
            let side =
                if facts.identity.is_owner(&m.from) && m.to.iter().chain(&m.cc).any(is_candidate) {
                    Side::Owner
                } else if is_candidate(&m.from) {
                    Side::Candidate
                } else {
                    Side::Other
                };
            FactMessage {
                key: m.key,
                time: m.time,
                side,
                class: m.class,
                new_text: m.body.clone(),
                subject: m.subject.clone(),
                ooo_until: m.ooo_until,
                hard_bounce: m.hard_bounce && m.bounced.iter().any(is_candidate),
                list_thread: list_threads.contains(&m.thread),
                own_kind: m.own_kind.as_deref().and_then(Kind::parse),
                thread: m.thread,
            }
        })
        .collect();

    let rows: Vec<&OutboxRow> = extra
        .rows
        .iter()
        .filter(|r| r.kind != "digest" && conversation.addresses.contains(&r.candidate))
        .collect();
    let automated = rows
        .iter()
        .filter_map(|r| {
            Some(SentRecord {
                kind: Kind::parse(&r.kind)?,
                state: OutboxState::parse(&r.state)?,
                created_at: ts(r.created_at),
                sent_at: (r.state == "sent").then(|| ts(r.done_at.unwrap_or(r.created_at))),
                reply_to: r.reply_to.unwrap_or(0),
            })
        })
        .collect();
    let recipient_last_automated_at = extra
        .rows
        .iter()
        .filter(|r| r.kind != "digest" && conversation.addresses.contains(&r.recipient))
        .filter(|r| OutboxState::parse(&r.state).is_some_and(|s| s.counts_as_sent()))
        .map(|r| ts(r.done_at.unwrap_or(r.created_at)))
        .max();
    let day_start = now
        .to_zoned_datetime(facts.calendar.tz.clone())
        .start_of_day()
        .map(|z| z.timestamp())
        .unwrap_or(now);
    let account_sent_today = extra
        .rows
        .iter()
        .filter(|r| r.kind != "digest")
        .filter(|r| OutboxState::parse(&r.state).is_some_and(|s| s.counts_as_sent()))
        .filter(|r| ts(r.done_at.unwrap_or(r.created_at)) >= day_start)
        .count() as u32;

    let state = conversation
        .addresses
        .iter()
        .find_map(|a| extra.states.get(a))
        .cloned()
        .unwrap_or_default();
    let in_folder = |seen: &HashMap<i64, i64>| {
        conversation
            .messages
            .iter()
            .filter_map(|&i| seen.get(&facts.messages[i].key))
            .min()
            .map(|&at| ts(at))
    };
    let outcome_folder = extra
        .outcomes
        .iter()
        .filter_map(|(outcome, seen)| in_folder(seen).map(|at| (*outcome, at)))
        .max_by_key(|(_, at)| *at);
    let excluded_by_owner = conversation.addresses.iter().any(|a| {
        extra
            .marks
            .iter()
            .any(|(pattern, mark)| mark.excluded && matches_exclusion(a, pattern))
    });
    let owner = OwnerDecisions {
        paused_until: state.paused_until.as_deref().and_then(|d| d.parse().ok()),
        paused_indefinitely: state.paused && state.paused_until.is_none(),
        paused_at: state.paused_at.map(ts),
        resumed_at: state.resumed_at.map(ts),
        decided: state
            .decided
            .as_deref()
            .and_then(policy::Outcome::parse)
            .zip(state.decided_at.map(ts)),
        hold_folder_at: in_folder(&extra.hold),
        outcome_folder,
        excluded_by_owner,
    };
    let excluded = conversation.addresses.iter().any(|a| {
        account
            .scope
            .exclude
            .iter()
            .any(|p| matches_exclusion(a, p))
    }) || excluded_by_owner;
    Facts {
        candidate: conversation.address.clone(),
        in_scope: facts.in_scope[index],
        excluded,
        role_or_null: conversation.address.is_empty()
            || crate::mail::is_role_address(&conversation.address),
        messages,
        automated,
        owner,
        first_sync_at: extra.first_sync_at.map(ts),
        last_digest_at: extra.last_digest_at.map(ts),
        recipient_last_automated_at,
        account_sent_today,
    }
}
