//! One account's conversations as the commands show them: loaded from the store, threaded,
//! grouped per candidate, with scope decided (SPEC §4).

use std::collections::{BTreeMap, HashSet};

use crate::calendar::BusinessCalendar;
use crate::config::{Account, ScopeMode};
use crate::conversations::{self, Conversation, Identity, StoredMessage};
use crate::store::Store;
use crate::store::mailbox::{self, Mark};

/// Everything the read-only commands need of one account.
pub struct AccountFacts {
    pub name: String,
    pub messages: Vec<StoredMessage>,
    pub conversations: Vec<Conversation>,
    /// Parallel to `conversations`.
    pub in_scope: Vec<bool>,
    pub threads: u64,
    pub calendar: BusinessCalendar,
    pub identity: Identity,
}

impl AccountFacts {
    pub fn find(&self, address: &str) -> Option<usize> {
        let address = address.trim().to_lowercase();
        self.conversations
            .iter()
            .position(|c| c.addresses.contains(&address))
    }
}

/// The account's business calendar (SPEC §5, §13 `[account.schedule]`).
pub fn calendar(account: &Account) -> BusinessCalendar {
    BusinessCalendar {
        tz: account.timezone.clone(),
        business_days: account.schedule.business_days.clone(),
        work_start_minute: account.schedule.work_hours.start_minute,
        work_end_minute: account.schedule.work_hours.end_minute,
        holidays: account.schedule.holidays.clone(),
    }
}

/// True when `address` matches an exclusion: the address itself or its domain (or a parent
/// domain).
pub fn matches_exclusion(address: &str, pattern: &str) -> bool {
    if let Some(hash) = pattern.strip_prefix(FORGOTTEN_PREFIX) {
        return forgotten_hash(address) == hash;
    }
    let pattern = pattern.trim().to_lowercase();
    if pattern.contains('@') {
        return address == pattern;
    }
    let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    domain == pattern || domain.ends_with(&format!(".{pattern}"))
}

/// A forgotten person is remembered only as a hash of their address, so that candor never
/// writes to them again without keeping the address itself (SPEC §11 `forget`).
pub const FORGOTTEN_PREFIX: &str = "forgotten:";

pub fn forgotten_hash(address: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(address.trim().to_lowercase().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn load(store: &Store, account: &Account) -> anyhow::Result<AccountFacts> {
    let name = account.name.clone();
    let scope_folders = account.scope.folders.clone();
    let loaded = store.call_blocking(move |tx| {
        let Some(id) = mailbox::account_id(tx, &name)? else {
            return Ok(None);
        };
        let messages = mailbox::messages(tx, id)?;
        let merges = mailbox::merges(tx, id)?;
        let marks = mailbox::marks(tx, id)?;
        let scope_keys = mailbox::keys_in_folders(tx, id, &scope_folders)?;
        let threads = mailbox::thread_count(tx, id)?;
        Ok(Some((messages, merges, marks, scope_keys, threads)))
    })?;
    let (mut messages, merges, marks, scope_keys, threads) = loaded.unwrap_or_default();
    conversations::order_replies_after_parents(&mut messages);
    let mut identity = Identity::for_account(account);
    for (into, address) in &merges {
        identity.add_merge(into, address);
    }
    let conversations = conversations::conversations(&messages, &identity);
    let in_scope = conversations
        .iter()
        .map(|c| in_scope(account, c, &messages, &marks, &scope_keys))
        .collect();
    Ok(AccountFacts {
        name: account.name.clone(),
        messages,
        conversations,
        in_scope,
        threads,
        calendar: calendar(account),
        identity,
    })
}

fn in_scope(
    account: &Account,
    conversation: &Conversation,
    messages: &[StoredMessage],
    marks: &BTreeMap<String, Mark>,
    scope_keys: &HashSet<i64>,
) -> bool {
    let excluded = conversation.addresses.iter().any(|address| {
        account
            .scope
            .exclude
            .iter()
            .any(|p| matches_exclusion(address, p))
            || marks
                .iter()
                .any(|(pattern, mark)| mark.excluded && matches_exclusion(address, pattern))
    });
    if excluded {
        return false;
    }
    match account.scope.mode {
        ScopeMode::All => true,
        ScopeMode::Explicit => conversation
            .addresses
            .iter()
            .any(|a| marks.get(a).is_some_and(|m| m.added)),
        ScopeMode::Folders => conversation
            .messages
            .iter()
            .any(|&i| scope_keys.contains(&messages[i].key)),
    }
}
