//! Threading against notmuch's reference threads on the real corpora in `../shared/corpora`.
//!
//! The partition of files into threads is compared with notmuch's (labels do not matter). Every
//! place where they disagree is a *difference cluster*: the files of the notmuch threads and of
//! our threads that overlap without matching one to one. Known clusters are listed below as data
//! with their reason; a new cluster, or a listed one that went away, fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use candor::threading::{ThreadInput, Threader};
use jiff::Timestamp;
use mail_parser::{HeaderValue, MessageParser};

/// A difference we accept: the corpus, the cluster's first file (by name), how many files it
/// holds, into how many threads notmuch and we split them, and why.
struct KnownDifference {
    corpus: &'static str,
    first_file: &'static str,
    files: usize,
    notmuch_threads: usize,
    our_threads: usize,
    reason: &'static str,
}

/// The comparable shape of a difference cluster.
type Shape = (String, String, usize, usize, usize);

const KNOWN_DIFFERENCES: &[KnownDifference] = &[
    KnownDifference {
        corpus: "notmuch-lkml",
        first_file: "0000001.notmuch-lkml:2,S",
        files: 80,
        notmuch_threads: 1,
        our_threads: 13,
        reason: "`In-Reply-To: <yes>` (a broken git send-email prompt answer): notmuch takes `yes` \
                 for a parent id and glues 13 unrelated patch series together; we ignore bogus ids",
    },
    KnownDifference {
        corpus: "sisimai-bounces",
        first_file: "0000093.sisimai:2,S",
        files: 2,
        notmuch_threads: 1,
        our_threads: 2,
        reason: "two byte-identical bounces without a Message-ID: notmuch's synthetic id is a hash \
                 of the content, so they share it; the store deduplicates such copies by its own \
                 content hash before threading, the threader sees two unrelated messages",
    },
];

fn corpora_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "NOTE: {} is absent: the corpus threading comparison is skipped",
            dir.display()
        );
        None
    }
}

/// The raw header block, unfolded, one `(lowercased name, value)` per header. Handles LF, CRLF
/// and CR-only line endings.
fn raw_headers(raw: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(raw)
        .replace("\r\n", "\n")
        .replace('\r', "\n");
    let block = text.split("\n\n").next().unwrap_or("");
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in block.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_lowercase(), value.trim().to_owned()));
        }
    }
    headers
}

/// The first `<...>` of a header value, else the trimmed value.
fn first_bracketed(value: &str) -> String {
    if let Some(start) = value.find('<')
        && let Some(len) = value[start..].find('>')
    {
        return value[start + 1..start + len].to_owned();
    }
    value.trim().to_owned()
}

fn text_list(value: &HeaderValue<'_>) -> Vec<String> {
    value
        .as_text_list()
        .map(|list| list.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}

/// What the store would hand the threader, owned; the threader borrows it.
struct Fields {
    key: i64,
    message_id: Option<String>,
    extra_message_ids: Vec<String>,
    in_reply_to: Vec<String>,
    references: Vec<String>,
    time: Timestamp,
    correspondents: Vec<String>,
    subject: Option<String>,
}

impl Fields {
    fn input(&self) -> ThreadInput<'_> {
        ThreadInput {
            key: self.key,
            message_id: self.message_id.as_deref(),
            extra_message_ids: &self.extra_message_ids,
            in_reply_to: &self.in_reply_to,
            references: &self.references,
            time: self.time,
            correspondents: self.correspondents.clone(),
            subject: self.subject.as_deref(),
        }
    }
}

/// What the store would hand the threader, from one file.
fn thread_input(key: i64, raw: &[u8]) -> Fields {
    let headers = raw_headers(raw);
    let mut ids = headers
        .iter()
        .filter(|(name, _)| name == "message-id")
        .map(|(_, value)| first_bracketed(value));
    let message_id = ids.next();
    let extra_message_ids = ids.collect();
    let parsed = MessageParser::default().parse(raw);
    let (in_reply_to, references, time, correspondents, subject) = match &parsed {
        Some(msg) => {
            let mut people: Vec<String> = msg
                .from()
                .into_iter()
                .chain(msg.to())
                .flat_map(|list| list.iter())
                .filter_map(|addr| addr.address())
                .map(str::to_lowercase)
                .collect();
            people.sort();
            people.dedup();
            let time = msg
                .date()
                .and_then(|d| Timestamp::from_second(d.to_timestamp()).ok())
                .unwrap_or(Timestamp::UNIX_EPOCH);
            (
                text_list(msg.in_reply_to()),
                text_list(msg.references()),
                time,
                people,
                msg.subject().map(str::to_owned),
            )
        }
        None => (
            Vec::new(),
            Vec::new(),
            Timestamp::UNIX_EPOCH,
            Vec::new(),
            None,
        ),
    };
    Fields {
        key,
        message_id,
        extra_message_ids,
        in_reply_to,
        references,
        time,
        correspondents,
        subject,
    }
}

/// notmuch's threads as sets of file names (synthetic ids included: they are files too).
fn notmuch_partition(corpus: &Path) -> Option<Vec<BTreeSet<String>>> {
    let text = std::fs::read_to_string(corpus.join("ref/notmuch-threads.jsonl")).ok()?;
    let mut threads: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let row: serde_json::Value = serde_json::from_str(line).expect("notmuch ref is JSON");
        let thread = row["thread"].as_str().expect("thread label").to_owned();
        let files = row["files"].as_array().expect("files list");
        let entry = threads.entry(thread).or_default();
        entry.extend(files.iter().filter_map(|f| f.as_str()).map(str::to_owned));
    }
    Some(threads.into_values().collect())
}

/// Our threads over the files notmuch indexed (notmuch skips files it does not take for mail).
fn our_partition(corpus: &Path, indexed: &BTreeSet<String>) -> Vec<BTreeSet<String>> {
    let mut names: Vec<String> = std::fs::read_dir(corpus.join("maildir/cur"))
        .expect("corpus maildir readable")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| indexed.contains(name))
        .collect();
    names.sort();
    let mut threader = Threader::new();
    for (key, name) in names.iter().enumerate() {
        let raw = std::fs::read(corpus.join("maildir/cur").join(name)).expect("corpus file");
        let key = i64::try_from(key).expect("small corpus");
        threader.add(&thread_input(key, &raw).input());
    }
    let by_key = |key: &i64| names[usize::try_from(*key).expect("keys are indexes")].clone();
    threader
        .threads()
        .into_values()
        .map(|keys| keys.iter().map(by_key).collect())
        .collect()
}

/// Clusters of files where the two partitions disagree, each sorted.
fn difference_clusters(
    ours: &[BTreeSet<String>],
    theirs: &[BTreeSet<String>],
) -> Vec<BTreeSet<String>> {
    // Sets appear once per side; a set on both sides is a matched thread.
    let matched: BTreeSet<&BTreeSet<String>> =
        ours.iter().filter(|set| theirs.contains(set)).collect();
    let mut pending: Vec<BTreeSet<String>> = ours
        .iter()
        .chain(theirs)
        .filter(|set| !matched.contains(set))
        .cloned()
        .collect();
    // Merge overlapping sets until none overlap: those are the clusters.
    let mut clusters: Vec<BTreeSet<String>> = Vec::new();
    while let Some(mut cluster) = pending.pop() {
        loop {
            let (overlapping, rest): (Vec<_>, Vec<_>) =
                pending.into_iter().partition(|s| !s.is_disjoint(&cluster));
            pending = rest;
            if overlapping.is_empty() {
                break;
            }
            overlapping.into_iter().for_each(|s| cluster.extend(s));
        }
        clusters.push(cluster);
    }
    clusters.sort();
    clusters
}

#[test]
fn threads_match_notmuch_except_listed_differences() {
    let Some(dir) = corpora_dir() else { return };
    let mut corpora: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpora dir readable")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("ref/notmuch-threads.jsonl").is_file())
        .collect();
    corpora.sort();
    assert!(
        !corpora.is_empty(),
        "no corpus with notmuch reference threads"
    );
    let mut found: BTreeSet<Shape> = BTreeSet::new();
    for corpus in &corpora {
        let name = corpus
            .file_name()
            .expect("dir name")
            .to_string_lossy()
            .into_owned();
        let theirs = notmuch_partition(corpus).expect("notmuch reference readable");
        let indexed: BTreeSet<String> = theirs.iter().flatten().cloned().collect();
        let ours = our_partition(corpus, &indexed);
        let clusters = difference_clusters(&ours, &theirs);
        eprintln!(
            "{name}: {} files, {} notmuch threads, {} ours, {} difference clusters",
            indexed.len(),
            theirs.len(),
            ours.len(),
            clusters.len()
        );
        for cluster in clusters {
            let count = |side: &[BTreeSet<String>]| {
                side.iter().filter(|set| !set.is_disjoint(&cluster)).count()
            };
            let first = cluster.first().expect("clusters are not empty").clone();
            let files = cluster.len();
            found.insert((name.clone(), first, files, count(&theirs), count(&ours)));
        }
    }
    let known: BTreeSet<Shape> = KNOWN_DIFFERENCES
        .iter()
        .map(|d| {
            assert!(!d.reason.is_empty(), "a known difference needs its reason");
            let corpus = d.corpus.to_owned();
            let first = d.first_file.to_owned();
            (corpus, first, d.files, d.notmuch_threads, d.our_threads)
        })
        .collect();
    let new: Vec<_> = found.difference(&known).collect();
    let gone: Vec<_> = known.difference(&found).collect();
    assert!(new.is_empty(), "new differences from notmuch: {new:#?}");
    assert!(
        gone.is_empty(),
        "listed differences that no longer occur: {gone:#?}"
    );
}

/// Threads one corpus and returns our partition as sorted file lists.
fn threads_of(corpus: &str) -> Option<Vec<Vec<String>>> {
    let dir = corpora_dir()?.join(corpus);
    let theirs = notmuch_partition(&dir)?;
    let indexed: BTreeSet<String> = theirs.iter().flatten().cloned().collect();
    let mut ours: Vec<Vec<String>> = our_partition(&dir, &indexed)
        .into_iter()
        .map(|set| set.into_iter().collect())
        .collect();
    ours.sort();
    Some(ours)
}

#[test]
fn parent_priority_corpus_is_one_thread() {
    // In-Reply-To and References disagree, References reversed: still one component.
    let Some(ours) = threads_of("notmuch-threading-parent-priority") else {
        return;
    };
    assert_eq!(
        ours,
        vec![vec![
            "0000001.notmuch-prio:2,S".to_owned(),
            "0000002.notmuch-prio:2,S".to_owned(),
            "0000003.notmuch-prio:2,S".to_owned(),
        ]]
    );
}

#[test]
fn ghost_root_corpus_joins_children_of_missing_roots() {
    let Some(ours) = threads_of("notmuch-threading-ghost-root") else {
        return;
    };
    let file = |n: u32| format!("{n:07}.notmuch-ghost:2,S");
    // Files 1-3 answer one missing root, 4-9 another (9 is the real root, arriving last).
    let want: Vec<Vec<String>> = vec![(1..=3).map(file).collect(), (4..=9).map(file).collect()];
    assert_eq!(ours, want);
}
