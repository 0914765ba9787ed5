//! Threading (SPEC §2): connected components over Message-ID / In-Reply-To / References, plus
//! the header-less reply rule. Pure and incremental: the store feeds messages in, persists
//! `message key → thread id` and renumbers the threads a message absorbed.
//!
//! Decisions, in one place:
//! - **Components, not trees.** Every usable id is a node of a union-find; a message joins its own
//!   ids and every id it references. A missing parent is a ghost node that still joins its
//!   children; cycles are harmless. For header links the partition does not depend on the order
//!   of `add` calls.
//! - **Bogus ids** ([`is_bogus_id`]) are ignored everywhere, so `In-Reply-To: <yes>` joins nothing.
//! - **Duplicates**: several messages with one Message-ID share its node, hence one thread.
//! - **Two Message-ID headers**: the caller passes the first as `message_id` (what notmuch uses)
//!   and the others as `extra_message_ids`. The extras are joined too: a reply may cite either,
//!   and the message really was announced under both.
//! - **Thread id** = the smallest message key in the component. Keys are store row ids that grow
//!   with insertion, so in practice a thread keeps the key of its first stored message; when a
//!   message joins two threads, the larger id is reported in [`ThreadAssignment::merged`].
//! - **Header-less replies**: a message with no usable In-Reply-To/References whose subject has a
//!   reply prefix attaches to the thread of the most recent message (by time, at most 30 days
//!   earlier, not later than it) that shares a correspondent and the normalised subject. This
//!   looks at messages already added. So that the arrival order matters less (an Inbox synced
//!   before the Sent folder), a header-less reply that found nothing is kept as an *orphan*; the
//!   first later-added message that it would have chosen (same correspondent and subject, at most
//!   30 days before it) adopts it. When several such messages arrive late, the first to arrive
//!   wins, not the most recent: the rule is exact only for messages added in time order.

mod subject;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use jiff::{SignedDuration, Timestamp};

pub use subject::{
    answered_subject, has_reply_prefix, is_calendar_acceptance, normalized_subject,
    without_calendar_answer,
};

/// How far back a header-less reply looks for its thread (SPEC §2).
const HEADERLESS_LOOKBACK: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Longer ids are taken for garbage: RFC 5322 lines stop at 998 octets.
const MAX_ID_BYTES: usize = 998;

/// One message as the threader sees it, borrowed from the caller's message (copying its ids was
/// a sixth of the threader's time in a first sync, issue 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInput<'a> {
    /// The store's message row id.
    pub key: i64,
    /// The first Message-ID header, with or without angle brackets.
    pub message_id: Option<&'a str>,
    /// Further Message-ID headers, if the message has several.
    pub extra_message_ids: &'a [String],
    pub in_reply_to: &'a [String],
    pub references: &'a [String],
    /// The message time (SPEC §2).
    pub time: Timestamp,
    /// The external party's addresses, lowercased, computed by the caller.
    pub correspondents: Vec<String>,
    pub subject: Option<&'a str>,
}

/// A thread: the smallest message key in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(pub i64);

/// Where [`Threader::add`] put a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadAssignment {
    pub thread: ThreadId,
    /// Threads absorbed into `thread` by this message, ascending; the store renumbers them.
    pub merged: Vec<ThreadId>,
}

/// Incremental threader: union-find over message-ids and message keys.
///
/// Ids and topics are kept as 64-bit SipHash digests under a key drawn per threader, not as
/// strings: a daemon holds the threader of every stored message, and the strings were most of
/// its memory (issue 4: ~20 MB for 100k messages). Two different ids share a digest with
/// probability about n²/2⁶⁵ (3·10⁻¹⁰ for 100k ids), and the random key keeps hostile mail from
/// aiming for one.
#[derive(Debug, Default)]
pub struct Threader {
    /// Union-find parent of each node.
    parent: Vec<u32>,
    /// Smallest message key in the component, valid at roots; `None` for ghost-only components.
    min_key: Vec<Option<i64>>,
    id_nodes: HashMap<u64, u32, Mix>,
    key_nodes: HashMap<i64, u32, Mix>,
    /// Digest of `correspondent \0 normalised subject` → (time, key) of every message with that pair.
    by_topic: HashMap<u64, Vec<(Timestamp, i64)>, Mix>,
    /// Header-less replies that found no thread yet, by the same topic key.
    orphans: HashMap<u64, Vec<(Timestamp, i64)>, Mix>,
    digests: Digests,
    /// [`Threader::add_prepared`]'s buffers: the nodes a message joins, the threads before it.
    scratch_nodes: Vec<u32>,
    scratch_threads: Vec<ThreadId>,
    /// The largest message key added.
    max_key: i64,
}

/// A message reduced to what the threader compares: keyed digests of its usable ids and of its
/// topics. [`Digests::prepare`] computes it wherever the message is at hand (the sync's parser
/// thread, while the message is still in its cache: reading the ids again on the store's thread
/// was most of the threader's time there); [`Threader::add_prepared`] threads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    own_ids: Vec<u64>,
    linked_ids: Vec<u64>,
    topics: Vec<u64>,
    /// No usable header link, and a reply prefix: the header-less reply rule applies if the
    /// message also has a topic.
    headerless_reply: bool,
    time: Timestamp,
}

/// The keyed digest function of one threader (a random key per threader); every copy digests
/// alike, so a message may be prepared on another thread.
#[derive(Clone, Debug, Default)]
pub struct Digests(RandomState);

impl Digests {
    /// What [`Threader::add_prepared`] needs of `msg` (its `key` aside).
    pub fn prepare(&self, msg: &ThreadInput<'_>) -> Prepared {
        let own_ids: Vec<u64> = msg
            .message_id
            .into_iter()
            .chain(msg.extra_message_ids.iter().map(String::as_str))
            .filter_map(usable_id)
            .map(|id| self.0.hash_one(id))
            .collect();
        let linked_ids: Vec<u64> = msg
            .in_reply_to
            .iter()
            .chain(msg.references)
            .filter_map(|raw| usable_id(raw))
            .map(|id| self.0.hash_one(id))
            .collect();
        Prepared {
            headerless_reply: linked_ids.is_empty() && msg.subject.is_some_and(has_reply_prefix),
            own_ids,
            linked_ids,
            topics: topic_digests(&self.0, msg),
            time: msg.time,
        }
    }
}

/// The hasher of the threader's maps. Their keys are keyed SipHash digests (already random and
/// out of an attacker's aim) or the store's row ids: one multiply spreads them over the table.
/// Hashing them again with SipHash was a tenth of the threader's time (issue 4).
type Mix = BuildHasherDefault<MixHasher>;

#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl Threader {
    pub fn new() -> Threader {
        Threader::default()
    }

    /// A key above every key added: a new message must not take the key of one the threader
    /// still holds (deleted from the store meanwhile by `candidate forget`), or it would join
    /// that message's thread.
    pub fn next_key(&self) -> i64 {
        self.max_key.saturating_add(1)
    }

    /// The threader's digest function, for [`Digests::prepare`] elsewhere.
    pub fn digests(&self) -> Digests {
        self.digests.clone()
    }

    /// Threads one message and says where it went.
    pub fn add(&mut self, msg: &ThreadInput<'_>) -> ThreadAssignment {
        let prepared = self.digests.prepare(msg);
        self.add_prepared(msg.key, &prepared)
    }

    /// Threads one message, prepared by this threader's [`Digests`], as `key`.
    pub fn add_prepared(&mut self, key: i64, msg: &Prepared) -> ThreadAssignment {
        // One probe of `key_nodes` for the message's own key (a miss in a map larger than the
        // CPU caches, for every message of a first sync).
        let (key_node, known_key) = match self.key_nodes.entry(key) {
            Entry::Occupied(entry) => (*entry.get(), true),
            Entry::Vacant(entry) => {
                let node = Threader::next_node(&self.parent);
                entry.insert(node);
                self.parent.push(node);
                self.min_key.push(Some(key));
                self.max_key = self.max_key.max(key);
                (node, false)
            }
        };
        // Buffers kept from message to message rather than allocated for each.
        let mut joined = std::mem::take(&mut self.scratch_nodes);
        joined.clear();
        joined.push(key_node);
        for &digest in msg.own_ids.iter().chain(&msg.linked_ids) {
            joined.push(self.id_node(digest));
        }

        let topics = &msg.topics;
        let mut orphaned = false;
        if msg.headerless_reply && !topics.is_empty() {
            match self.most_recent_on_topic(topics, msg.time, key) {
                Some(found) => joined.push(self.key_node(found)),
                None => orphaned = true,
            }
        }
        let adopted = self.adopt_orphans(topics, msg.time, key);
        joined.extend(adopted);

        // The threads that existed before this message; a new message is not a thread yet.
        let skip_own = usize::from(!known_key);
        let mut before = std::mem::take(&mut self.scratch_threads);
        before.clear();
        for &node in &joined[skip_own..] {
            let root = self.find(node);
            before.extend(self.min_key[root as usize].map(ThreadId));
        }
        before.sort_unstable();
        before.dedup();
        for &node in &joined[1..] {
            self.union(key_node, node);
        }
        self.scratch_nodes = joined;
        let root = self.find(key_node);
        let key_min = self.min_key[root as usize].unwrap_or(key);
        let thread = ThreadId(key_min);

        for &topic in topics {
            if orphaned {
                self.orphans.entry(topic).or_default().push((msg.time, key));
            }
            self.by_topic
                .entry(topic)
                .or_default()
                .push((msg.time, key));
        }
        let merged = before.iter().copied().filter(|&t| t != thread).collect();
        self.scratch_threads = before;
        ThreadAssignment { thread, merged }
    }

    /// The thread of a message added before.
    pub fn thread_of(&self, key: i64) -> Option<ThreadId> {
        let node = *self.key_nodes.get(&key)?;
        self.min_key[self.find_const(node) as usize].map(ThreadId)
    }

    /// Every thread with its message keys, ascending.
    pub fn threads(&self) -> BTreeMap<ThreadId, Vec<i64>> {
        let mut out: BTreeMap<ThreadId, Vec<i64>> = BTreeMap::new();
        for (&key, &node) in &self.key_nodes {
            if let Some(min) = self.min_key[self.find_const(node) as usize] {
                out.entry(ThreadId(min)).or_default().push(key);
            }
        }
        for keys in out.values_mut() {
            keys.sort_unstable();
        }
        out
    }

    /// Takes out of the orphan lists the header-less replies that `time` would have been chosen
    /// for, had the message come first (same topic, at most the look-back before them), and
    /// returns their nodes.
    fn adopt_orphans(&mut self, topics: &[u64], time: Timestamp, own: i64) -> Vec<u32> {
        let mut adopted_keys = Vec::new();
        for topic in topics {
            if let Some(orphans) = self.orphans.get(topic) {
                adopted_keys.extend(orphans.iter().filter_map(|&(orphan_time, orphan_key)| {
                    let adopt = orphan_key != own
                        && time <= orphan_time
                        && orphan_time.duration_since(time) <= HEADERLESS_LOOKBACK;
                    adopt.then_some(orphan_key)
                }));
            }
        }
        if adopted_keys.is_empty() {
            return Vec::new();
        }
        // An orphan with several correspondents sits in several lists: take it out of all.
        self.orphans.retain(|_, list| {
            list.retain(|(_, key)| !adopted_keys.contains(key));
            !list.is_empty()
        });
        adopted_keys
            .iter()
            .map(|key| *self.key_nodes.get(key).expect("orphans were added before"))
            .collect()
    }

    /// The key of the most recent message at or before `time` (within the look-back) on any of
    /// `topics`; ties go to the larger key so that the answer does not depend on map order.
    fn most_recent_on_topic(&self, topics: &[u64], time: Timestamp, own: i64) -> Option<i64> {
        topics
            .iter()
            .filter_map(|topic| self.by_topic.get(topic))
            .flatten()
            .filter(|&&(t, key)| {
                key != own && t <= time && time.duration_since(t) <= HEADERLESS_LOOKBACK
            })
            .max()
            .map(|&(_, key)| key)
    }

    fn key_node(&mut self, key: i64) -> u32 {
        if let Some(&node) = self.key_nodes.get(&key) {
            return node;
        }
        let node = self.new_node(Some(key));
        self.key_nodes.insert(key, node);
        node
    }

    fn id_node(&mut self, digest: u64) -> u32 {
        if let Some(&node) = self.id_nodes.get(&digest) {
            return node;
        }
        let node = self.new_node(None);
        self.id_nodes.insert(digest, node);
        node
    }

    /// The index the next node takes.
    fn next_node(parent: &[u32]) -> u32 {
        u32::try_from(parent.len()).expect("fewer than 4 billion ids and messages")
    }

    fn new_node(&mut self, key: Option<i64>) -> u32 {
        let node = Threader::next_node(&self.parent);
        self.parent.push(node);
        self.min_key.push(key);
        node
    }

    /// Root of `node`, halving the path on the way.
    fn find(&mut self, mut node: u32) -> u32 {
        while self.parent[node as usize] != node {
            let grandparent = self.parent[self.parent[node as usize] as usize];
            self.parent[node as usize] = grandparent;
            node = grandparent;
        }
        node
    }

    fn find_const(&self, mut node: u32) -> u32 {
        while self.parent[node as usize] != node {
            node = self.parent[node as usize];
        }
        node
    }

    /// Joins two components. The root with the smaller index wins: older nodes sit near the
    /// root, which keeps trees shallow enough with path halving and makes the shape deterministic.
    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[child as usize] = root;
        self.min_key[root as usize] =
            match (self.min_key[root as usize], self.min_key[child as usize]) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
    }
}

/// Whether a Message-ID (with or without angle brackets) is unusable for threading: empty,
/// without a `@` between a non-empty left and right part, with whitespace or brackets inside
/// (`<yes>`, `<a@b> <c@d>` given as one id), or absurdly long.
pub fn is_bogus_id(id: &str) -> bool {
    let id = strip_brackets(id);
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return true;
    }
    let bad = |c: char| c.is_whitespace() || c.is_control() || c == '<' || c == '>';
    // ASCII ids (nearly all) byte by byte: the ASCII whitespace and controls are 0x00-0x20, 0x7f.
    let has_bad = if id.is_ascii() {
        id.bytes()
            .any(|b| b <= b' ' || b == 0x7f || b == b'<' || b == b'>')
    } else {
        id.chars().any(bad)
    };
    if has_bad {
        return true;
    }
    match id.rsplit_once('@') {
        Some((left, right)) => left.is_empty() || right.is_empty(),
        None => true,
    }
}

fn strip_brackets(id: &str) -> &str {
    let id = id.trim();
    let id = id.strip_prefix('<').unwrap_or(id);
    id.strip_suffix('>').unwrap_or(id)
}

/// The id as a node name, or `None` when bogus.
fn usable_id(raw: &str) -> Option<&str> {
    (!is_bogus_id(raw)).then(|| strip_brackets(raw))
}

/// `correspondent \0 normalised subject` for each correspondent; empty without a subject (a
/// subject alone never joins anything, and an empty one carries no information).
fn topic_digests(digests: &RandomState, msg: &ThreadInput<'_>) -> Vec<u64> {
    let Some(subject) = msg.subject else {
        return Vec::new();
    };
    let subject = normalized_subject(subject);
    if subject.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<u64> = msg
        .correspondents
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .map(|c| {
            // The digest of `lowercase(c) \0 subject`, written piecewise instead of formatted.
            let mut hasher = digests.build_hasher();
            if c.bytes().any(|b| b.is_ascii_uppercase() || !b.is_ascii()) {
                hasher.write(c.to_lowercase().as_bytes());
            } else {
                hasher.write(c.as_bytes());
            }
            hasher.write_u8(0);
            hasher.write(subject.as_bytes());
            hasher.finish()
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests;
