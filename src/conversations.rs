//! Candidates and conversations (SPEC §2, §4) over stored messages, and their waits (§5). Pure.
//!
//! A **candidate** is an external human correspondent: someone the owner wrote to (To/Cc) or who
//! wrote to the owner, who is not an owner address, not in an internal domain, not a role
//! address, and not a sender of list or bounce mail. Several addresses may be one candidate
//! (configured aliases, `candor candidate merge`). A **conversation** is every message with that
//! candidate plus the other messages of the same threads (a colleague's answer in the thread),
//! in time order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;

use crate::calendar::BusinessCalendar;
use crate::latency::{self, Direction, Event, Side, Wait};
use crate::mail::Class;

/// Who the account is: its owner's addresses, internal domains and candidate aliases.
#[derive(Clone, Debug, Default)]
pub struct Identity {
    owner_addresses: BTreeSet<String>,
    internal_domains: Vec<String>,
    /// address → canonical address (the first of its alias group or merge target).
    canonical: BTreeMap<String, String>,
}

impl Identity {
    pub fn new(owner_addresses: &[String], internal_domains: &[String]) -> Identity {
        Identity {
            owner_addresses: owner_addresses.iter().map(|a| a.to_lowercase()).collect(),
            internal_domains: internal_domains.iter().map(|d| d.to_lowercase()).collect(),
            canonical: BTreeMap::new(),
        }
    }

    /// The owner's addresses, internal domains and configured aliases of an account.
    pub fn for_account(account: &crate::config::Account) -> Identity {
        let mut identity = Identity::new(&account.owner_addresses, &account.internal_domains);
        for group in &account.scope.aliases {
            identity.add_alias_group(group);
        }
        identity
    }

    /// Treats every address of `group` as the first one.
    pub fn add_alias_group(&mut self, group: &[String]) {
        let Some(first) = group.first().map(|a| self.canonical_of(&a.to_lowercase())) else {
            return;
        };
        for address in group.iter().skip(1) {
            let address = address.to_lowercase();
            if address != first {
                self.canonical.insert(address, first.clone());
            }
        }
    }

    /// `candor candidate merge A B`: B's messages join A's conversation.
    pub fn add_merge(&mut self, into: &str, address: &str) {
        let into = self.canonical_of(&into.to_lowercase());
        let address = address.to_lowercase();
        if address != into {
            // Whoever pointed at `address` now points at `into` too.
            for target in self.canonical.values_mut() {
                if *target == address {
                    *target = into.clone();
                }
            }
            self.canonical.insert(address, into);
        }
    }

    pub fn canonical_of(&self, address: &str) -> String {
        let mut current = address.to_owned();
        // Bounded: merges are flattened on insert, aliases point at a first member.
        for _ in 0..8 {
            match self.canonical.get(&current) {
                Some(next) if *next != current => current = next.clone(),
                _ => break,
            }
        }
        current
    }

    pub fn is_owner(&self, address: &str) -> bool {
        self.owner_addresses.contains(address)
    }

    /// An owner address or an address in an internal domain (or a subdomain of one).
    pub fn is_internal(&self, address: &str) -> bool {
        if self.is_owner(address) {
            return true;
        }
        let Some(domain) = address.rsplit_once('@').map(|(_, d)| d) else {
            return false;
        };
        // A subdomain: "x.agency.example" ends with ".agency.example" (no allocation: hot path).
        self.internal_domains.iter().any(|d| {
            domain == d
                || (domain.len() > d.len()
                    && domain.ends_with(d.as_str())
                    && domain.as_bytes()[domain.len() - d.len() - 1] == b'.')
        })
    }

    /// The external party of a message: the recipients when the owner wrote it, else the sender.
    pub fn correspondents<'a>(
        &self,
        from: &str,
        to: impl IntoIterator<Item = &'a str>,
        cc: impl IntoIterator<Item = &'a str>,
    ) -> Vec<String> {
        if self.is_owner(from) {
            to.into_iter()
                .chain(cc)
                .filter(|a| !self.is_internal(a))
                .map(|a| self.canonical_of(a))
                .collect()
        } else if from.is_empty() {
            Vec::new()
        } else {
            vec![self.canonical_of(from)]
        }
    }
}

/// One stored message, as conversations need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    pub key: i64,
    pub thread: i64,
    pub time: Timestamp,
    pub message_id: Option<String>,
    /// The Message-ID of the message this one answers: its In-Reply-To, else the last of its
    /// References.
    pub in_reply_to: Option<String>,
    pub from: String,
    pub from_name: String,
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub subject: String,
    pub class: Class,
    /// The new, unquoted text (the start of it).
    pub body: String,
    /// For an auto-reply: the return date found in it.
    pub ooo_until: Option<jiff::civil::Date>,
    /// For a bounce: hard (5.x.x) or not, and the bounced recipients.
    pub hard_bounce: bool,
    pub bounced: Vec<String>,
    /// For class `own`: the kind named by its `X-Candor` header.
    pub own_kind: Option<String>,
    /// Display names given to To/Cc addresses, where the message names them.
    pub recipient_names: Vec<(String, String)>,
    /// The Reply-To addresses, each with its display name (empty when the header gave none).
    pub reply_to: Vec<(String, String)>,
}

/// One candidate's conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    /// The canonical address.
    pub address: String,
    /// Every address seen for this candidate, the canonical one first.
    pub addresses: Vec<String>,
    /// The display name last seen on the candidate's own mail.
    pub name: String,
    /// Indices into the message slice, in time order.
    pub messages: Vec<usize>,
    /// The candidate ever wrote a human message.
    pub replied: bool,
    pub waits: Vec<Wait>,
}

impl Conversation {
    /// The last wait, when it is still open.
    pub fn open_wait(&self) -> Option<&Wait> {
        self.waits.last().filter(|w| w.closed_at.is_none())
    }

    /// The candidate's latest message, whichever of their addresses wrote it.
    pub fn candidate_latest_mail<'a>(
        &self,
        messages: &'a [StoredMessage],
    ) -> Option<&'a StoredMessage> {
        self.messages
            .iter()
            .rev()
            .map(|&i| &messages[i])
            .find(|m| self.addresses.contains(&m.from))
    }

    /// Who an automated email of this conversation goes to (SPEC §8, to the candidate only):
    /// where their latest mail asked to be answered (its Reply-To, when that address is theirs:
    /// a mail client replies there), else the address they last wrote from, else the one the
    /// owner last wrote to, else the canonical one.
    pub fn recipient(&self, messages: &[StoredMessage]) -> String {
        self.candidate_latest_mail(messages)
            .map(|m| match m.reply_to.as_slice() {
                [(reply_to, _)] if self.addresses.contains(reply_to) => reply_to.clone(),
                _ => m.from.clone(),
            })
            .or_else(|| {
                self.messages
                    .iter()
                    .rev()
                    .map(|&i| &messages[i])
                    .find_map(|m| {
                        m.to.iter()
                            .chain(&m.cc)
                            .find(|a| self.addresses.contains(a))
                            .cloned()
                    })
            })
            .unwrap_or_else(|| self.address.clone())
    }
}

/// Builds every candidate's conversation from the account's messages.
/// How far a reply may be dated before the message it answers and still be taken as its
/// answer with a wrong clock: the 24 h a Date may differ from INTERNALDATE (SPEC §2).
const MAX_CLOCK_SKEW: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// Puts every reply after the message it answers (its `in_reply_to`, when the account has that
/// message): a reply dated up to 24 h earlier, by a sender's slow clock or wrong zone (SPEC §2
/// accepts a Date within 24 h of INTERNALDATE), is given the answered message's time plus one
/// second, and `messages` is sorted again by time. Without it the reply was read as coming
/// first: the owner's message then opened a wait on a candidate who had already answered, and a
/// follow-up was planned to them (found in review). Chains are followed; a cycle of replies is
/// left as dated.
pub fn order_replies_after_parents(messages: &mut [StoredMessage]) {
    let by_id: HashMap<&str, usize> = messages
        .iter()
        .enumerate()
        .filter_map(|(index, m)| m.message_id.as_deref().map(|id| (id, index)))
        .collect();
    let parents: Vec<Option<usize>> = messages
        .iter()
        .enumerate()
        .map(|(index, m)| {
            m.in_reply_to
                .as_deref()
                .and_then(|id| by_id.get(id).copied())
                .filter(|&parent| parent != index)
        })
        .collect();
    // Each message's time once its ancestors' are settled, walking each chain up from the
    // message; a chain that comes back to a message being settled is a cycle and stops there.
    let mut settled: Vec<Option<Timestamp>> = vec![None; messages.len()];
    let mut changed = false;
    for start in 0..messages.len() {
        let mut chain: Vec<usize> = Vec::new();
        let mut at = Some(start);
        while let Some(index) = at {
            if settled[index].is_some() {
                break;
            }
            if let Some(cut) = chain.iter().position(|&seen| seen == index) {
                // A cycle: its messages keep their dates.
                for &member in &chain[cut..] {
                    settled[member] = Some(messages[member].time);
                }
                chain.truncate(cut);
                break;
            }
            chain.push(index);
            at = parents[index];
        }
        for &index in chain.iter().rev() {
            let own = messages[index].time;
            let time = match parents[index].and_then(|parent| settled[parent]) {
                // Within the skew SPEC §2 lets a Date have; a reply dated further back than
                // that names a parent it cannot answer (a broken In-Reply-To, seen in the
                // synthetic mailbox: weeks later, in another conversation) and keeps its date.
                Some(parent_time)
                    if own <= parent_time && parent_time.duration_since(own) <= MAX_CLOCK_SKEW =>
                {
                    changed = true;
                    parent_time
                        .checked_add(jiff::SignedDuration::from_secs(1))
                        .unwrap_or(parent_time)
                }
                _ => own,
            };
            settled[index] = Some(time);
        }
    }
    if !changed {
        return;
    }
    for (m, time) in messages.iter_mut().zip(settled) {
        m.time = time.unwrap_or(m.time);
    }
    messages.sort_by_key(|m| (m.time, m.key));
}

/// A copy of candor's digest (`X-Candor: kind=digest`): mail to the owner, not to a candidate.
fn is_digest(m: &StoredMessage) -> bool {
    m.class == Class::Own && m.own_kind.as_deref() == Some("digest")
}

pub fn conversations(messages: &[StoredMessage], identity: &Identity) -> Vec<Conversation> {
    // Addresses that can never be candidates: bounce and role senders, and list senders,
    // unless the owner and they wrote to each other directly. A person who once posted to a
    // list the owner reads is a candidate all the same once they exchange mail (found in
    // review: one list post hid them for good); a newsletter's sender, whose other mail may lack
    // list headers, and a list's address the owner posts to stay out.
    let wrote_as_a_person: BTreeSet<&str> = messages
        .iter()
        .filter(|m| m.class == Class::Human)
        .map(|m| m.from.as_str())
        .collect();
    let owner_wrote_to: BTreeSet<&str> = messages
        .iter()
        .filter(|m| {
            identity.is_owner(&m.from)
                && matches!(m.class, Class::Human | Class::Own)
                && !is_digest(m)
        })
        .flat_map(|m| m.to.iter().chain(&m.cc).map(String::as_str))
        .collect();
    let mut automated: BTreeSet<String> = BTreeSet::new();
    for m in messages {
        let automated_sender = match m.class {
            Class::Bounce | Class::Role => true,
            Class::List => {
                let from = m.from.as_str();
                !(owner_wrote_to.contains(from) && wrote_as_a_person.contains(from))
            }
            _ => false,
        };
        if automated_sender && !m.from.is_empty() {
            automated.insert(m.from.clone());
        }
        // A list's own address: what list mail is sent to, never a person's From. The owner's
        // post to a list that does not send her own posts back is in Sent alone, a human
        // message to that address, which made the list a cold-outreach candidate; its other
        // members' posts name it.
        if m.class == Class::List {
            for address in m.to.iter().chain(&m.cc) {
                if !wrote_as_a_person.contains(address.as_str()) && !identity.is_owner(address) {
                    automated.insert(address.clone());
                }
            }
        }
    }
    let is_candidate_address = |address: &str| {
        !address.is_empty()
            && !identity.is_internal(address)
            && !automated.contains(address)
            && !crate::mail::is_role_address(address)
    };
    let reply_to_aliases = reply_to_aliases(messages, identity, &is_candidate_address);
    let identity = reply_to_aliases.as_ref().unwrap_or(identity);

    // Candidate → its direct messages; addresses seen and names.
    let mut direct: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut seen_addresses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut names: BTreeMap<String, (Timestamp, String)> = BTreeMap::new();
    let mut fallback_names: BTreeMap<String, String> = BTreeMap::new();
    for (index, m) in messages.iter().enumerate() {
        if identity.is_owner(&m.from) {
            // The digest comes back through Sent like any email of the owner's: its recipient
            // (`[account.digest] to`, perhaps an outside address) is not a candidate (SPEC §10:
            // never counted as candidate mail; found in review).
            if matches!(m.class, Class::Human | Class::Own) && !is_digest(m) {
                for address in m.to.iter().chain(&m.cc).filter(|a| is_candidate_address(a)) {
                    let canonical = identity.canonical_of(address);
                    // The owner's address book: a name for candidates who never wrote.
                    if let Some((_, name)) = m.recipient_names.iter().find(|(a, _)| a == address) {
                        fallback_names
                            .entry(canonical.clone())
                            .or_insert_with(|| name.clone());
                    }
                    direct.entry(canonical.clone()).or_default().insert(index);
                    seen_addresses
                        .entry(canonical)
                        .or_default()
                        .insert(address.clone());
                }
            }
        } else if is_candidate_address(&m.from) {
            let canonical = identity.canonical_of(&m.from);
            // Auto-replies of a known candidate belong to the conversation; they alone make
            // nobody a candidate.
            if m.class == Class::Human || direct.contains_key(&canonical) {
                direct.entry(canonical.clone()).or_default().insert(index);
                let seen = seen_addresses.entry(canonical.clone()).or_default();
                seen.insert(m.from.clone());
                // Where they asked to be answered, when it is theirs (see `reply_to_aliases`).
                if let [(reply_to, _)] = m.reply_to.as_slice()
                    && identity.canonical_of(reply_to) == canonical
                {
                    seen.insert(reply_to.clone());
                }
                if m.class == Class::Human && !m.from_name.is_empty() {
                    let entry = names
                        .entry(canonical)
                        .or_insert((m.time, m.from_name.clone()));
                    if m.time >= entry.0 {
                        *entry = (m.time, m.from_name.clone());
                    }
                }
            }
        }
    }
    // Auto-replies that came before the candidate was known (sorted input is not guaranteed),
    // and bounces of mail to the candidate (they come from MAILER-DAEMON, not the candidate).
    for (index, m) in messages.iter().enumerate() {
        if m.class == Class::AutoReply && !identity.is_owner(&m.from) {
            let canonical = identity.canonical_of(&m.from);
            if let Some(set) = direct.get_mut(&canonical) {
                set.insert(index);
            }
        }
        if m.class == Class::Bounce {
            for address in &m.bounced {
                if let Some(set) = direct.get_mut(&identity.canonical_of(address)) {
                    set.insert(index);
                }
            }
        }
    }

    let mut by_thread: HashMap<i64, Vec<usize>> = HashMap::new();
    for (index, m) in messages.iter().enumerate() {
        by_thread.entry(m.thread).or_default().push(index);
    }

    let mut out = Vec::with_capacity(direct.len());
    for (address, own) in direct {
        let threads: BTreeSet<i64> = own.iter().map(|&i| messages[i].thread).collect();
        let mut all: BTreeSet<usize> = own.clone();
        for thread in threads {
            all.extend(by_thread.get(&thread).into_iter().flatten().copied());
        }
        let mut indices: Vec<usize> = all.into_iter().collect();
        indices.sort_by_key(|&i| (messages[i].time, messages[i].key));
        let mut addresses: Vec<String> = vec![address.clone()];
        addresses.extend(
            seen_addresses
                .get(&address)
                .into_iter()
                .flatten()
                .filter(|a| **a != address)
                .cloned(),
        );
        let events = events(messages, &indices, &addresses, identity);
        let replied = events.iter().any(|e| e.side == Side::Candidate && e.human);
        out.push(Conversation {
            // The name they write under, else the one the owner addressed them by (a
            // cold-outreach candidate was greeted "Hi there," though the owner had named them:
            // found in review).
            name: names
                .get(&address)
                .map(|(_, n)| n.clone())
                .or_else(|| fallback_names.get(&address).cloned())
                .unwrap_or_default(),
            waits: latency::waits(&events),
            address,
            addresses,
            messages: indices,
            replied,
        });
    }
    out
}

/// The candidate's own Reply-To as one of their addresses: someone who writes from their work
/// address with `Reply-To:` their private one is answered there, and then answers from either.
/// Without it the owner's reply to the private address opened a conversation of its own, where
/// the candidate's next mail (from the work address) was someone else's: the private address
/// waited on a candidate who had answered (a follow-up planned, held back only by the `replied`
/// gate, and only while her answer came in the same thread), and the work address's
/// conversation waited on the owner for good, in the digest and in the owner's reply times.
///
/// Only a human message from a candidate address with exactly one Reply-To counts, when that
/// address could be a candidate's itself (not internal, automated or a role) and is nobody's
/// alias yet, and when its display name, if both headers give one, is the sender's: a referrer
/// writing "reply to Bob directly" (`Reply-To: Bob <bob@...>`) stays a person of their own. And
/// only when the sending address is one person's: a job board or applicant-tracking relay sends
/// every applicant's mail from one address (`Ann Lee <apply@board>`, `Reply-To: ann@...`), so an
/// address whose human mail carries two different Reply-To addresses, or two display names, is
/// nobody's alias (merging it would make one candidate of every applicant, and the board's own
/// notice the candidate's latest mail). Returns the identity with the Reply-To address merged
/// into the sender's candidate, or `None` when no message asks for that (the usual case: no
/// copy).
fn reply_to_aliases(
    messages: &[StoredMessage],
    identity: &Identity,
    is_candidate_address: &dyn Fn(&str) -> bool,
) -> Option<Identity> {
    // Per sending address that ever gave a Reply-To (few, and usually none): the Reply-To
    // addresses and the display names of its human mail. The planner runs this at every plan.
    #[derive(Default)]
    struct Sender<'a> {
        reply_to: BTreeSet<&'a str>,
        names: BTreeSet<Vec<String>>,
    }
    let mut senders: BTreeMap<&str, Sender<'_>> = messages
        .iter()
        .filter(|m| m.class == Class::Human && !m.reply_to.is_empty())
        .map(|m| (m.from.as_str(), Sender::default()))
        .collect();
    if senders.is_empty() {
        return None;
    }
    for m in messages {
        if m.class != Class::Human {
            continue;
        }
        let Some(sender) = senders.get_mut(m.from.as_str()) else {
            continue;
        };
        sender
            .reply_to
            .extend(m.reply_to.iter().map(|(a, _)| a.as_str()));
        let name = name_words(&m.from_name);
        if !name.is_empty() {
            sender.names.insert(name);
        }
    }
    let one_persons = |from: &str| {
        senders
            .get(from)
            .is_some_and(|s| s.reply_to.len() == 1 && s.names.len() <= 1)
    };
    let mut aliased: Option<Identity> = None;
    for m in messages {
        let [(reply_to, reply_name)] = m.reply_to.as_slice() else {
            continue;
        };
        if m.class != Class::Human
            || *reply_to == m.from
            || identity.is_owner(&m.from)
            || !is_candidate_address(&m.from)
            || !is_candidate_address(reply_to)
            || !same_person_named(&m.from_name, reply_name)
            || !one_persons(&m.from)
        {
            continue;
        }
        let current = aliased.as_ref().unwrap_or(identity);
        let into = current.canonical_of(&m.from);
        if current.canonical_of(reply_to) != *reply_to || into == *reply_to {
            continue;
        }
        aliased
            .get_or_insert_with(|| identity.clone())
            .add_merge(&into, reply_to);
    }
    aliased
}

/// A display name as words: lowercase, without quotes.
fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Two display names that may be one person's: either is absent, or they are equal but for
/// case, spacing and quotes.
fn same_person_named(a: &str, b: &str) -> bool {
    let (a, b) = (name_words(a), name_words(b));
    a.is_empty() || b.is_empty() || a == b
}

/// The latency events of a conversation: the owner's messages count only when addressed to the
/// candidate (a note to a colleague in the same thread answers nobody).
fn events(
    messages: &[StoredMessage],
    indices: &[usize],
    addresses: &[String],
    identity: &Identity,
) -> Vec<Event> {
    let is_candidate = |a: &String| addresses.contains(a);
    let by_id: HashMap<&str, i64> = indices
        .iter()
        .filter_map(|&i| {
            messages[i]
                .message_id
                .as_deref()
                .map(|id| (id, messages[i].key))
        })
        .collect();
    let mut subjects = HeaderlessParents::default();
    indices
        .iter()
        .map(|&i| {
            let m = &messages[i];
            let side = if identity.is_owner(&m.from) && m.to.iter().chain(&m.cc).any(is_candidate) {
                Side::Owner
            } else if is_candidate(&m.from) {
                Side::Candidate
            } else {
                Side::Other
            };
            let answers = match m.in_reply_to.as_deref() {
                Some(id) => by_id.get(id).copied(),
                None => subjects.parent_of(m),
            };
            subjects.record(m);
            Event {
                key: m.key,
                time: m.time,
                side,
                human: m.class == Class::Human,
                answers,
                opens: !crate::threading::is_calendar_acceptance(&m.subject),
            }
        })
        .collect()
}

/// The header-less reply rule of SPEC §2 inside one conversation, for latency: a reply without
/// In-Reply-To or References answers the most recent earlier message with its normalised subject
/// (at most 30 days before it). Without this, a mobile client's answer to the owner's nudge
/// would be measured from the first message of the run instead of from the nudge.
#[derive(Default)]
struct HeaderlessParents {
    /// Normalised subject → (time, key) of the latest message seen with it.
    latest: HashMap<String, (Timestamp, i64)>,
}

impl HeaderlessParents {
    const LOOKBACK_S: i64 = 30 * 86_400;

    /// Called in time order, before [`HeaderlessParents::record`] of the same message.
    fn parent_of(&self, m: &StoredMessage) -> Option<i64> {
        if !crate::threading::has_reply_prefix(&m.subject) {
            return None;
        }
        let subject = crate::threading::normalized_subject(&m.subject);
        let &(at, key) = self.latest.get(&subject)?;
        let age = m.time.as_second().saturating_sub(at.as_second());
        (!subject.is_empty() && (0..=Self::LOOKBACK_S).contains(&age)).then_some(key)
    }

    fn record(&mut self, m: &StoredMessage) {
        let subject = crate::threading::normalized_subject(&m.subject);
        if !subject.is_empty() {
            self.latest.insert(subject, (m.time, m.key));
        }
    }
}

/// Latency figures of one direction over a window (SPEC §5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub n: usize,
    pub median_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub business_median_s: Option<i64>,
    pub business_p90_s: Option<i64>,
}

/// Calendar and business figures of the waits of `direction` closed in `[since, until)`.
pub fn figures<'a>(
    waits: impl IntoIterator<Item = &'a Wait>,
    direction: Direction,
    calendar: &BusinessCalendar,
    since: Timestamp,
    until: Timestamp,
) -> Figures {
    let mut calendar_s = Vec::new();
    let mut business_s = Vec::new();
    for wait in waits {
        let (Some(closed), Some(latency)) = (wait.closed_at, wait.latency_s) else {
            continue;
        };
        if wait.direction != direction || closed < since || closed >= until {
            continue;
        }
        calendar_s.push(latency);
        let start = Timestamp::from_second(closed.as_second() - latency).unwrap_or(wait.opened_at);
        business_s.push(calendar.business_seconds(start, closed));
    }
    let calendar_summary = latency::summarize(&calendar_s);
    let business_summary = latency::summarize(&business_s);
    Figures {
        n: calendar_summary.n,
        median_s: calendar_summary.median_s,
        p90_s: calendar_summary.p90_s,
        business_median_s: business_summary.median_s,
        business_p90_s: business_summary.p90_s,
    }
}

#[cfg(test)]
mod tests;
