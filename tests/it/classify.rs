//! `mail::parse` over every corpus in `../shared/corpora`: never panics, per-corpus class
//! counts, hand-checked sisimai bounces and auto-replies, and the effect of truncating bodies to
//! what IMAP fetches (`BODY_PREFIX_BYTES`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candor::mail::{self, BODY_PREFIX_BYTES, BounceKind, Class};

fn corpora_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "NOTE: {} is absent: corpus classification checks skipped",
            dir.display()
        );
        None
    }
}

/// Every corpus directory (one holding `maildir/cur`) under `dir`, sorted.
fn corpora_in(dir: &Path) -> Vec<PathBuf> {
    let mut corpora: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("corpora dir is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("maildir/cur").is_dir())
        .collect();
    corpora.sort();
    corpora
}

/// `(file name, bytes)` of every message of one corpus, sorted by name.
fn corpus_files(corpus: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus.join("maildir/cur"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let bytes = std::fs::read(e.path()).expect("corpus file is readable");
                    (name, bytes)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The header block plus at most `BODY_PREFIX_BYTES` of body: what `BODY.PEEK[HEADER]` plus
/// `BODY.PEEK[TEXT]<0.N>` hands the IMAP layer.
fn truncated(raw: &[u8]) -> Vec<u8> {
    let body_start = find_body_start(raw);
    let end = (body_start + BODY_PREFIX_BYTES as usize).min(raw.len());
    raw[..end].to_vec()
}

fn find_body_start(raw: &[u8]) -> usize {
    for sep in [&b"\r\n\r\n"[..], b"\n\n", b"\r\r"] {
        if let Some(at) = raw.windows(sep.len()).position(|w| w == sep) {
            return at + sep.len();
        }
    }
    raw.len()
}

fn label(result: &Result<mail::Message, mail::Unparseable>) -> &'static str {
    match result {
        Ok(message) => message.class.as_str(),
        Err(_) => "unparseable",
    }
}

#[test]
fn every_corpus_parses_without_panicking_and_is_counted() {
    let Some(dir) = corpora_dir() else { return };
    let corpora = corpora_in(&dir);
    assert!(!corpora.is_empty(), "no corpus under {}", dir.display());
    let dump = std::env::var_os("CANDOR_DUMP_CLASSES").is_some();
    for corpus in &corpora {
        let name = corpus
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let files = corpus_files(corpus);
        for (file, raw) in &files {
            let result = mail::parse(raw);
            *counts.entry(label(&result)).or_default() += 1;
            if dump {
                match &result {
                    Ok(m) => println!(
                        "{name}\t{file}\t{}\t{:?}\t{:?}\t{:?}\t{:?}",
                        m.class,
                        m.bounce
                            .as_ref()
                            .map(|b| (b.kind.as_str(), &b.recipients, &b.status)),
                        m.from.as_ref().map(|a| &a.address),
                        m.subject,
                        m.ooo_until
                    ),
                    Err(e) => println!("{name}\t{file}\tunparseable\t{e}"),
                }
            }
        }
        let total: usize = counts.values().sum();
        assert_eq!(total, files.len());
        println!("{name:<36} {total:>4} files: {counts:?}");
    }
}

/// Hand-checked sisimai bounces, one or more per MTA: file → bounced recipient(s). Checked by
/// reading each sample (Final-Recipient where there is a DSN, else the failure text).
const EXPECTED_BOUNCES: &[(&str, &[&str])] = &[
    ("0000018.sisimai:2,S", &["kijitora@example.org"]), // activehunter, text
    ("0000020.sisimai:2,S", &["neko@example.co.jp"]),   // amavis, DSN
    ("0000023.sisimai:2,S", &["shironeko@example.co.jp"]), // amazonses, DSN
    ("0000043.sisimai:2,S", &["kijitora@example.jp"]),  // amazonworkmail
    ("0000051.sisimai:2,S", &["kijitora@example.org"]), // barracuda, DSN
    ("0000053.sisimai:2,S", &["kijitora@example.org"]), // bigfoot, `RFC822; <...>`
    ("0000054.sisimai:2,S", &["postmaster@mxr.biglobe.ne.jp"]), // biglobe, text
    ("0000055.sisimai:2,S", &["kijitora@example.co.jp"]), // courier, DSN
    ("0000059.sisimai:2,S", &["kijitora@example.jp"]),  // domino, text
    (
        "0000062.sisimai:2,S",
        &["pseudo-local-part@google.example.com"],
    ), // dragonfly
    ("0000092.sisimai:2,S", &["kijitora@example.org"]), // 1&1, text
    ("0000094.sisimai:2,S", &["kijitora@example.jp"]),  // exchange 2003, text
    ("0000100.sisimai:2,S", &["mikeneko@example.co.jp"]), // exchange 2007, DSN
    ("0000107.sisimai:2,S", &["kijitora@example.ed.jp"]), // exim, text
    (
        "0000148.sisimai:2,S",
        &["this-message-rejected-by-the-domain-filter@ezweb.ne.jp"],
    ), // ezweb
    ("0000157.sisimai:2,S", &["userunknown@example.jp"]), // gmail, text (one of two To)
    ("0000172.sisimai:2,S", &["shironeko@example.jp"]), // gmx, quoted address
    ("0000191.sisimai:2,S", &["kijitora@example.com"]), // imailserver
    ("0000199.sisimai:2,S", &["kijitora@example.org"]), // mailfoundry
    ("0000212.sisimai:2,S", &["kijitora@example.co.jp"]), // mcafee, Original-Recipient only
    ("0000217.sisimai:2,S", &["kijitora@example.jp"]),  // messagingserver, Final wins
    ("0000229.sisimai:2,S", &["kijitora@example.com"]), // m-FILTER, ISO-2022-JP text
    ("0000234.sisimai:2,S", &["sabineko@neko.ef.example.org"]), // mimecast
    ("0000239.sisimai:2,S", &["kijitora@u1.example.co.jp"]), // notes
    ("0000242.sisimai:2,S", &["kijitora@example.com"]), // office365
    (
        "0000255.sisimai:2,S",
        &["apdugoaidugoaidugoaeiudggadi@gmail.com"],
    ), // opensmtpd
    ("0000269.sisimai:2,S", &["kijitora@example.jp"]),  // outlook, DSN
    (
        "0000277.sisimai:2,S",
        &["r@p351355.pool.example.ne.jp", "kijitora@example.org"],
    ), // postfix: the address tried, then the one written to
    ("0000346.sisimai:2,S", &["kijitora@example.jp"]),  // powermta
    ("0000349.sisimai:2,S", &["kijitora@example.ne.jp"]), // qmail
    ("0000374.sisimai:2,S", &["userunknown@neko.example.jp"]), // receiving SES
    ("0000382.sisimai:2,S", &["kijitora@example.jp"]),  // sendgrid
    ("0000385.sisimai:2,S", &["userunknown@bouncehammer.jp"]), // sendmail, DSN
    ("0000444.sisimai:2,S", &["kijitora@example.com"]), // surfcontrol
    ("0000447.sisimai:2,S", &["kijitora@example.co.jp"]), // trendmicro, RCPT TO transcript
    ("0000450.sisimai:2,S", &["kijitora@example.com"]), // v5 sendmail, returned To:
    ("0000459.sisimai:2,S", &["kijitora@example.co.jp"]), // x1
    ("0000463.sisimai:2,S", &["kijitora@example.co.jp"]), // x2
    ("0000470.sisimai:2,S", &["kijitora@example.com"]), // x3
    ("0000475.sisimai:2,S", &["kijitora@example.com"]), // x4
    ("0000476.sisimai:2,S", &["kijitora@neko.example.org"]), // x5
    ("0000477.sisimai:2,S", &["kijitora@nyaan.example.org"]), // x6
    ("0000479.sisimai:2,S", &["kijitora@example.org"]), // yahoo
    ("0000493.sisimai:2,S", &["kijitora@example.jp"]),  // yandex
    ("0000496.sisimai:2,S", &["kijitora@example.co.jp"]), // zoho, QP-broken status
    ("0000501.sisimai:2,S", &["userunknown@bouncehammer.jp"]), // RFC 3464
    ("0000554.sisimai:2,S", &["kijitora-neko@example.com"]), // cloudflare (4.3.0: soft)
    ("0000555.sisimai:2,S", &["recipient55@cox.net"]),  // cox, repeated Final-Recipient
    (
        "0000558.sisimai:2,S",
        &["pseudo-local-part-kijitora-nyaaan@orange.fr"],
    ), // orange
    ("0000600.sisimai:2,S", &["kijitora@example.com"]), // microsoft
    (
        "0000608.sisimai:2,S",
        &["azumakuniyuki@ntt.docomo.example.ne.jp"],
    ), // docomo
    ("0000619.sisimai:2,S", &["theusername@charter.net"]), // spectrum
    ("0000626.sisimai:2,S", &["kijitora@zoho.example.com"]), // zoho rhost
];

/// Soft bounces among the checked ones (4.x.x status); every other checked bounce is hard.
const EXPECTED_SOFT: &[&str] = &["0000554.sisimai:2,S"];

/// Checked RFC 3834 samples: all auto-replies.
const EXPECTED_AUTO_REPLIES: &[&str] = &[
    "0000537.sisimai:2,S", // "Away until May 5", Auto-Submitted
    "0000538.sisimai:2,S", // "Automatic reply:" (Exchange)
    "0000539.sisimai:2,S", // "Auto reply:" (Apple vacation)
    "0000540.sisimai:2,S", // "Automatic reply:"
    "0000541.sisimai:2,S", // no telling subject, Auto-Submitted header
    "0000542.sisimai:2,S", // noreply sender, but X-Autoreply / Auto-Submitted come first
];

/// sisimai files that are rightly neither bounce nor auto-reply, with the reason.
const NOT_BOUNCES: &[(&str, &str)] = &[
    (
        "0000001.sisimai:2,S",
        "ARF abuse feedback report, not a delivery failure",
    ),
    ("0000002.sisimai:2,S", "ARF abuse feedback report"),
    ("0000003.sisimai:2,S", "ARF abuse feedback report"),
    ("0000004.sisimai:2,S", "ARF abuse feedback report"),
    ("0000005.sisimai:2,S", "ARF abuse feedback report"),
    ("0000006.sisimai:2,S", "ARF abuse feedback report"),
    ("0000007.sisimai:2,S", "ARF abuse feedback report"),
    (
        "0000009.sisimai:2,S",
        "DMARC forensic report from a noreply sender: role",
    ),
    ("0000010.sisimai:2,S", "ARF/DMARC report"),
    ("0000011.sisimai:2,S", "ARF/DMARC report"),
    ("0000012.sisimai:2,S", "ARF abuse feedback report"),
    ("0000013.sisimai:2,S", "ARF complaint report"),
    ("0000014.sisimai:2,S", "ARF complaint report"),
    ("0000015.sisimai:2,S", "ARF complaint report"),
    ("0000016.sisimai:2,S", "ARF abuse feedback report"),
    (
        "0000030.sisimai:2,S",
        "Amazon SNS JSON notification from no-reply: role, not a mail bounce",
    ),
    ("0000031.sisimai:2,S", "Amazon SNS JSON notification: role"),
    ("0000032.sisimai:2,S", "Amazon SNS JSON notification: role"),
    ("0000033.sisimai:2,S", "Amazon SNS JSON notification: role"),
    ("0000034.sisimai:2,S", "Amazon SNS JSON notification: role"),
    (
        "0000155.sisimai:2,S",
        "fml list manager: 'you are not a member', a list notice",
    ),
    ("0000156.sisimai:2,S", "fml list manager loop alert"),
    (
        "0000196.sisimai:2,S",
        "KDDI notice 'mailbox full' in Japanese from no-reply: role (missed bounce)",
    ),
    (
        "0000340.sisimai:2,S",
        "Postfix postmaster notice about an inbound SMTP session: role",
    ),
    (
        "0000398.sisimai:2,S",
        "a human forwarding a bounce (Fwd: Returned mail)",
    ),
    (
        "0000630.sisimai:2,S",
        "ARF abuse feedback report (CRLF copy)",
    ),
    (
        "0000657.sisimai:2,S",
        "KDDI Japanese notice, as 0000196 (CRLF copy)",
    ),
    ("0000745.sisimai:2,S", "a human forwarding a bounce"),
    ("0000747.sisimai:2,S", "ARF abuse feedback report (CR copy)"),
    (
        "0000774.sisimai:2,S",
        "KDDI Japanese notice, as 0000196 (CR copy)",
    ),
    ("0000827.sisimai:2,S", "sisimai's own is-not-bounce sample"),
    (
        "0000828.sisimai:2,S",
        "sisimai's own is-not-bounce sample: original as attachment",
    ),
];

#[test]
fn sisimai_bounces_and_auto_replies_are_recognised() {
    let Some(dir) = corpora_dir() else { return };
    let corpus = dir.join("sisimai-bounces");
    let files = corpus_files(&corpus);
    if files.is_empty() {
        eprintln!(
            "NOTE: {} has no messages: sisimai checks skipped",
            corpus.display()
        );
        return;
    }
    let parsed: BTreeMap<&str, Result<mail::Message, mail::Unparseable>> = files
        .iter()
        .map(|(name, raw)| (name.as_str(), mail::parse(raw)))
        .collect();
    let mut problems = Vec::new();
    for (file, recipients) in EXPECTED_BOUNCES {
        match parsed.get(file) {
            Some(Ok(m)) if m.class == Class::Bounce => {
                let bounce = m.bounce.as_ref().expect("a bounce has bounce details");
                if bounce.recipients != *recipients {
                    problems.push(format!(
                        "{file}: recipients {:?}, want {recipients:?}",
                        bounce.recipients
                    ));
                }
                let want = if EXPECTED_SOFT.contains(file) {
                    BounceKind::Soft
                } else {
                    BounceKind::Hard
                };
                if bounce.kind != want {
                    problems.push(format!("{file}: kind {:?}, want {want:?}", bounce.kind));
                }
            }
            other => problems.push(format!(
                "{file}: {:?}, want a bounce",
                other.map(|r| r.as_ref().map(|m| m.class))
            )),
        }
    }
    for file in EXPECTED_AUTO_REPLIES {
        let class = parsed
            .get(file)
            .and_then(|r| r.as_ref().ok())
            .map(|m| m.class);
        if class != Some(Class::AutoReply) {
            problems.push(format!("{file}: {class:?}, want auto_reply"));
        }
    }
    for (file, result) in &parsed {
        let class = result.as_ref().ok().map(|m| m.class);
        let expected_exception = NOT_BOUNCES.iter().any(|(name, _)| name == file);
        let bounce_like = matches!(class, Some(Class::Bounce | Class::AutoReply));
        if bounce_like == expected_exception {
            problems.push(format!(
                "{file}: {class:?}, listed as exception: {expected_exception}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// What IMAP fetches (header + `BODY_PREFIX_BYTES` of body) must classify like the whole file
/// for all but a handful of messages.
#[test]
fn classification_survives_truncation_to_the_fetched_prefix() {
    let Some(dir) = corpora_dir() else { return };
    let mut changed = Vec::new();
    let mut lost_recipients = Vec::new();
    let mut total = 0;
    let mut truncated_files = 0;
    for corpus in std::fs::read_dir(&dir)
        .expect("corpora dir is readable")
        .filter_map(Result::ok)
    {
        for (file, raw) in corpus_files(&corpus.path()) {
            total += 1;
            let prefix = truncated(&raw);
            if prefix.len() == raw.len() {
                continue;
            }
            truncated_files += 1;
            let (full, cut) = (mail::parse(&raw), mail::parse(&prefix));
            let recipients = |r: &Result<mail::Message, mail::Unparseable>| {
                r.as_ref()
                    .ok()
                    .and_then(|m| m.bounce.as_ref())
                    .map(|b| b.recipients.clone())
            };
            if label(&full) != label(&cut) {
                changed.push(format!("{file}: {} -> {}", label(&full), label(&cut)));
            } else if recipients(&full) != recipients(&cut) {
                lost_recipients.push(format!(
                    "{file}: {:?} -> {:?}",
                    recipients(&full),
                    recipients(&cut)
                ));
            }
        }
    }
    println!(
        "BODY_PREFIX_BYTES={BODY_PREFIX_BYTES}: {truncated_files} of {total} files truncated, \
         {} change class: {changed:#?}\n{} keep the class but lose bounce recipients (the \
         delivery-status part lies past the prefix): {lost_recipients:#?}",
        changed.len(),
        lost_recipients.len()
    );
    assert!(
        changed.len() <= 5,
        "too many class changes under truncation: {changed:#?}"
    );
    // The recipients of these bounces are lost, not wrong: a bounce with no recipient matches
    // no candidate. AOL's 60 KB HTML notices (rhost-aol) account for most.
    assert!(
        lost_recipients.len() <= 12,
        "too many recipient losses: {lost_recipients:#?}"
    );
}

/// `mail::parse` hands mail-parser only the parts candor reads; on every corpus message, whole
/// and cut to what IMAP fetches, the result must equal a parse of the whole message. Prints how
/// many inputs were checked (`SHOW_DIFF=1` prints both results of any that differ).
#[test]
fn the_mime_shortcut_changes_nothing_on_any_corpus() {
    let Some(dir) = corpora_dir() else { return };
    let corpora = corpora_in(&dir);
    let (mut checked, mut differ) = (0, Vec::new());
    for corpus in &corpora {
        for (name, raw) in corpus_files(corpus) {
            for input in [raw.clone(), truncated(&raw)] {
                checked += 1;
                let (a, b) = (mail::parse(&input), mail::parse_whole(&input));
                if a != b {
                    if std::env::var("SHOW_DIFF").is_ok() {
                        eprintln!("DIFF {name}\n  cut:   {a:?}\n  whole: {b:?}");
                    }
                    differ.push(format!("{}/{name}", corpus.display()));
                }
            }
        }
    }
    eprintln!(
        "MIME shortcut: {checked} inputs checked, {} differ",
        differ.len()
    );
    assert!(differ.is_empty(), "the shortcut changed these: {differ:#?}");
}
