//! Subject normalisation for the header-less reply rule: reply and forward prefixes in the
//! languages mail clients localise them in, `[list tags]`, whitespace and case.

/// Prefixes that mark a reply. `vs` is Finnish Outlook's reply ("vastaus"); Danish and Norwegian
/// use it for a forward, which is harmless here because the rule also needs a shared
/// correspondent and the same subject.
const REPLY_PREFIXES: &[&str] = &[
    "re", "aw", "sv", "vs", "antw", "antwort", "r", "rif", "ris", "odp", "ynt", "atb", "res",
    "ref", "réf", "απ", "отв", "回复", "答复",
];

/// Prefixes that mark a forward: stripped for comparison, but they do not make a message a reply.
const FORWARD_PREFIXES: &[&str] = &[
    "fwd",
    "fw",
    "wg",
    "tr",
    "rv",
    "i",
    "enc",
    "doorst",
    "vb",
    "vl",
    "vs",
    "pd",
    "prs",
    "rif",
    "πρθ",
    "пересл",
    "转发",
];

/// What calendar clients (Outlook, Google Calendar, Apple Calendar) put before an invitation's
/// subject when the invitee accepts it, in the languages they localise it in; lowercased.
const ACCEPTANCE_PREFIXES: &[&str] = &[
    "accepted:",
    "tentative:",
    "tentatively accepted:",
    "angenommen:",
    "mit vorbehalt angenommen:",
    "vorläufig angenommen:",
    "accepté :",
    "accepté:",
    "accepté provisoirement :",
    "aceptado:",
    "aceptada:",
    "aceptado provisionalmente:",
    "accettato:",
    "accettata:",
    "geaccepteerd:",
    "voorlopig geaccepteerd:",
    "accepterat:",
    "preliminärt:",
];

/// The same clients' prefixes for a declined invitation. A decline opens a wait like any
/// message (the owner may have to find another time); only candor's reply subject drops them.
const DECLINE_PREFIXES: &[&str] = &[
    "declined:",
    "abgelehnt:",
    "refusé :",
    "refusé:",
    "rechazado:",
    "rechazada:",
    "rifiutato:",
    "rifiutata:",
    "geweigerd:",
    "afgewezen:",
    "avböjt:",
];

/// Whether the subject is a calendar client's acceptance of an invitation ("Accepted:
/// Interview", "Angenommen: ..."): the invitee answered and asks nothing back. Read from the
/// subject alone: the clients mark these answers with no header (no Auto-Submitted), and a
/// forwarded or quoted one starts with another prefix.
pub fn is_calendar_acceptance(subject: &str) -> bool {
    calendar_answer(subject, ACCEPTANCE_PREFIXES).is_some()
}

/// The subject without a calendar answer's prefix (accepted, tentative or declined), for the
/// subject of candor's own reply.
pub fn without_calendar_answer(subject: &str) -> &str {
    calendar_answer(subject, ACCEPTANCE_PREFIXES)
        .or_else(|| calendar_answer(subject, DECLINE_PREFIXES))
        .unwrap_or(subject)
}

/// The rest of the subject after one of `prefixes` (compared without case), if it starts so.
fn calendar_answer<'a>(subject: &'a str, prefixes: &[&str]) -> Option<&'a str> {
    let subject = subject.trim_start();
    prefixes.iter().find_map(|prefix| {
        let head = subject.get(..prefix.len())?;
        // Without a lowercased copy: the planner asks this of every message at every plan.
        let same = head.chars().flat_map(char::to_lowercase).eq(prefix.chars());
        same.then(|| subject[prefix.len()..].trim_start())
    })
}

/// Longest subject we look at: a longer one is cut (on a char boundary) so that normalising a
/// hostile header stays cheap.
const MAX_SUBJECT_BYTES: usize = 4096;

/// What one leading token of a subject was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Reply,
    Forward,
    Tag,
}

/// The subject with every leading reply/forward prefix and `[tag]` stripped (repeatedly, in any
/// order), inner whitespace collapsed to one space, lowercased.
pub fn normalized_subject(subject: &str) -> String {
    let (rest, _) = strip_prefixes(truncate(subject));
    let mut out = String::with_capacity(rest.len());
    for word in rest.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Whether the subject starts (after any `[tags]`) with a reply prefix such as `Re:`, `AW:` or
/// `RE[2]:`. A forward alone (`Fwd:`) is not a reply.
pub fn has_reply_prefix(subject: &str) -> bool {
    let (_, seen) = strip_prefixes(truncate(subject));
    seen.contains(&Prefix::Reply)
}

/// The subject after its leading reply and forward prefixes (`[tags]` among them stripped too),
/// when it has at least one: what the message answers or forwards had that subject.
pub fn answered_subject(subject: &str) -> Option<&str> {
    let (rest, seen) = strip_prefixes(truncate(subject));
    seen.iter().any(|p| *p != Prefix::Tag).then_some(rest)
}

fn truncate(subject: &str) -> &str {
    if subject.len() <= MAX_SUBJECT_BYTES {
        return subject;
    }
    let mut end = MAX_SUBJECT_BYTES;
    while !subject.is_char_boundary(end) {
        end -= 1;
    }
    &subject[..end]
}

/// Strips leading prefixes; returns the rest and the kinds seen, in order.
fn strip_prefixes(subject: &str) -> (&str, Vec<Prefix>) {
    let mut rest = subject.trim_start();
    let mut seen = Vec::new();
    while let Some((kind, after)) = one_prefix(rest) {
        seen.push(kind);
        rest = after.trim_start();
    }
    (rest, seen)
}

/// One leading `[tag]` or `word:` / `word :` / `word[2]:` / `word(2):` / `word^2:`.
fn one_prefix(s: &str) -> Option<(Prefix, &str)> {
    if let Some(inner) = s.strip_prefix('[') {
        let close = inner.find(']')?;
        // An empty subject after the tag ("[tag]" alone) keeps the tag as the subject.
        let after = &inner[close + 1..];
        return (!after.trim().is_empty()).then_some((Prefix::Tag, after));
    }
    let word_end = s
        .char_indices()
        .find(|(_, c)| !c.is_alphabetic())
        .map_or(s.len(), |(i, _)| i);
    if word_end == 0 {
        return None;
    }
    let word = s[..word_end].to_lowercase();
    let mut after = &s[word_end..];
    after = skip_counter(after);
    after = after.trim_start_matches([' ', '\t']);
    let after = after
        .strip_prefix(':')
        .or_else(|| after.strip_prefix('：'))?;
    if REPLY_PREFIXES.contains(&word.as_str()) {
        Some((Prefix::Reply, after))
    } else if FORWARD_PREFIXES.contains(&word.as_str()) {
        Some((Prefix::Forward, after))
    } else {
        None
    }
}

/// Skips a reply counter: `[2]`, `(2)` or `^2`.
fn skip_counter(s: &str) -> &str {
    for (open, close) in [("[", "]"), ("(", ")"), ("^", "")] {
        if let Some(inner) = s.strip_prefix(open) {
            let digits = inner.len() - inner.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            if digits == 0 {
                continue;
            }
            let after_digits = &inner[digits..];
            if close.is_empty() {
                return after_digits;
            }
            if let Some(after) = after_digits.strip_prefix(close) {
                return after;
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_subjects() {
        let cases = [
            ("Re: Senior Rust role", "senior rust role"),
            ("RE: AW: Re[2]: Senior  Rust\trole ", "senior rust role"),
            (
                "Fwd: [recruiters-l] Re: Senior Rust role",
                "senior rust role",
            ),
            ("RE : Poste Rust", "poste rust"),
            ("TR : Poste Rust", "poste rust"),
            ("R: Ruolo Rust", "ruolo rust"),
            ("Antw: Rust rol", "rust rol"),
            ("Doorst: Rust rol", "rust rol"),
            ("SV: VB: Rust roll", "rust roll"),
            ("VS: Rust", "rust"),
            ("Rif: Ruolo", "ruolo"),
            ("RV: Puesto", "puesto"),
            ("WG: Stelle", "stelle"),
            ("Re(3): x", "x"),
            ("Re^2: x", "x"),
            ("Réf : x", "x"),
            ("[tag]", "[tag]"),
            ("Regarding: the role", "regarding: the role"),
            ("Re:", ""),
            ("", ""),
            ("Résumé for you", "résumé for you"),
            ("Interview: Tuesday", "interview: tuesday"),
        ];
        for (input, want) in cases {
            assert_eq!(normalized_subject(input), want, "input {input:?}");
        }
    }

    #[test]
    fn reply_prefix_detection() {
        let cases = [
            ("Re: x", true),
            ("[list] Re: x", true),
            ("Fwd: Re: x", true),
            ("AW: x", true),
            ("RE[2]: x", true),
            ("Fwd: x", false),
            ("x", false),
            ("Reply needed", false),
            ("Re x", false),
        ];
        for (input, want) in cases {
            assert_eq!(has_reply_prefix(input), want, "input {input:?}");
        }
    }

    #[test]
    fn calendar_answers() {
        let cases = [
            (
                "Accepted: Interview: Backend (Contoso)",
                true,
                "Interview: Backend (Contoso)",
            ),
            ("accepted:Interview", true, "Interview"),
            ("Tentative: Interview", true, "Interview"),
            (
                "Angenommen: Vorstellungsgespräch",
                true,
                "Vorstellungsgespräch",
            ),
            ("ACCEPTÉ : Entretien", true, "Entretien"),
            ("Declined: Interview", false, "Interview"),
            ("Abgelehnt: Interview", false, "Interview"),
            ("Re: Accepted: Interview", false, "Re: Accepted: Interview"),
            (
                "Accepted offer, what next?",
                false,
                "Accepted offer, what next?",
            ),
            ("Accept", false, "Accept"),
            ("é", false, "é"),
            ("", false, ""),
        ];
        for (input, acceptance, rest) in cases {
            assert_eq!(is_calendar_acceptance(input), acceptance, "input {input:?}");
            assert_eq!(without_calendar_answer(input), rest, "input {input:?}");
        }
    }

    #[test]
    fn hostile_subjects_do_not_panic() {
        let long = "Re: ".repeat(5000) + "é";
        assert_eq!(normalized_subject(&long), "");
        let long_word = "é".repeat(10_000);
        assert!(normalized_subject(&long_word).len() <= MAX_SUBJECT_BYTES);
        assert_eq!(normalized_subject("[unterminated"), "[unterminated");
        assert_eq!(normalized_subject("Re[: x"), "re[: x");
    }
}
