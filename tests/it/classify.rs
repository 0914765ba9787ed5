//! `mail::parse` over every corpus in `../shared/corpora`: never panics, per-corpus class
//! counts, hand-checked sisimai bounces and auto-replies, and the effect of truncating bodies to
//! what IMAP fetches (`BODY_PREFIX_BYTES`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use candor::mail::{self, BODY_PREFIX_BYTES, Class};

fn corpora_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpora");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("NOTE: {} is absent: corpus classification checks skipped", dir.display());
        None
    }
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
    let mut corpora: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpora dir is readable")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("maildir/cur").is_dir())
        .collect();
    corpora.sort();
    assert!(!corpora.is_empty(), "no corpus under {}", dir.display());
    let dump = std::env::var_os("CANDOR_DUMP_CLASSES").is_some();
    for corpus in &corpora {
        let name = corpus.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
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
                        m.bounce.as_ref().map(|b| (b.kind.as_str(), &b.recipients, &b.status)),
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
