//! The new, unquoted text of a reply: what the writer typed, without the quoted thread, the
//! attribution line, forwarded Outlook headers or the signature (SPEC §6 reads opt-outs and
//! questions only here).

use std::collections::VecDeque;

/// Drops `>` lines, and everything from the first attribution line, `-----Original
/// Message-----` separator, Outlook header block or `-- ` signature delimiter onward.
pub fn new_text(text: &str) -> String {
    new_text_up_to(text, usize::MAX)
}

/// [`new_text`], read only as far as its first `max_chars` characters need: what comes after
/// them (and could only have cut later) is not read. `new_text_up_to(t, n)` and `new_text(t)`
/// agree on their first `n` characters.
pub fn new_text_up_to(text: &str, max_chars: usize) -> String {
    // Lines are read as they are needed, with the few after the current one that the quote
    // tests look at: the text is up to 16 KiB, and the kept part is often a few lines.
    let mut lines = super::headers::lines(text);
    let mut ahead: VecDeque<&str> = lines.by_ref().take(LOOKAHEAD_LINES).collect();
    let mut kept: Vec<&str> = Vec::new();
    // Characters of the trimmed result so far: from the first non-blank character to the end
    // of the last non-empty kept line (kept lines are trimmed at their end).
    let mut span: Option<usize> = None;
    let mut blank_run = 0;
    while let Some(line) = ahead.pop_front() {
        ahead.extend(lines.next());
        let next = ahead.front().copied().unwrap_or("");
        if starts_the_quoted_part(line, next, ahead.make_contiguous()) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        let line = line.trim_end();
        kept.push(line);
        if line.is_empty() {
            blank_run += usize::from(span.is_some());
            continue;
        }
        let chars = match span {
            None => line.trim_start().chars().count(),
            Some(before) => before + blank_run + 1 + line.chars().count(),
        };
        span = Some(chars);
        blank_run = 0;
        if chars >= max_chars {
            break;
        }
    }
    kept.join("\n").trim().to_string()
}

/// How many lines after the current one [`starts_the_quoted_part`] may look at: an Outlook
/// header block's `Sent:` within the four lines after its `From:`.
const LOOKAHEAD_LINES: usize = 4;

/// Whether `line` begins the quoted part; `rest` holds the lines after it (at least
/// [`LOOKAHEAD_LINES`] of them, when the text has them).
fn starts_the_quoted_part(line: &str, next: &str, rest: &[&str]) -> bool {
    let trimmed = line.trim();
    if !may_start_quoted_part(trimmed) {
        return false;
    }
    if trimmed == "--" && line.starts_with("--") {
        return true;
    }
    if is_separator(trimmed) {
        return true;
    }
    // Attributions wrap: "On Mon, 3 Mar 2026 at 10:00, Jane Doe <\njane@x> wrote:".
    // (The joined line starts like this one: only then is it worth building.)
    is_attribution(trimmed)
        || (!trimmed.is_empty()
            && may_be_attribution(trimmed.chars().chain([' ']).chain(next.trim().chars()))
            && is_attribution(&format!("{} {}", trimmed, next.trim()))
            && !is_attribution(next.trim()))
        || is_outlook_block(trimmed, rest)
}

/// A cheap first look: every quote start [`starts_the_quoted_part`] knows begins with `-`, `*`
/// or a letter that some attribution or Outlook field word begins with; most lines of a message
/// begin with none of them. Lines beginning with a non-ASCII character get the full test.
fn may_start_quoted_part(trimmed: &str) -> bool {
    match trimmed.as_bytes().first() {
        None => false,
        Some(&b) if !b.is_ascii() => true,
        Some(b) => matches!(
            b.to_ascii_lowercase(),
            b'-' | b'_' | b'*' | b'o' | b'a' | b'l' | b'e' | b'i' | b'd' | b'f' | b'v'
        ),
    }
}

/// Whether `text` lowercased starts with `prefix` (lowercase), without building the lowercase
/// string: most lines of a message are tested against these prefixes and match none.
fn starts_with_lowercase(text: impl Iterator<Item = char>, prefix: &str) -> bool {
    let mut lower = text.flat_map(char::to_lowercase);
    prefix.chars().all(|p| lower.next() == Some(p))
}

/// Whether the text starts with the first word of an attribution [`is_attribution`] knows.
fn may_be_attribution(text: impl Iterator<Item = char> + Clone) -> bool {
    ["on ", "am ", "le ", "el ", "il ", "op ", "den "]
        .iter()
        .any(|word| starts_with_lowercase(text.clone(), word))
}

/// `-----Original Message-----` and its translations, with any number of dashes and spaces.
fn is_separator(line: &str) -> bool {
    if !line.starts_with("--") {
        return false;
    }
    let core = line
        .trim_matches(|c: char| c == '-' || c == '_' || c.is_whitespace())
        .to_lowercase();
    [
        "original message",
        "ursprüngliche nachricht",
        "originalnachricht",
        "message d'origine",
        "message original",
        "mensaje original",
        "messaggio originale",
        "oorspronkelijk bericht",
        "ursprungligt meddelande",
        "forwarded message",
        "weitergeleitete nachricht",
    ]
    .contains(&core.as_str())
}

fn is_attribution(line: &str) -> bool {
    if !may_be_attribution(line.chars()) {
        return false;
    }
    let lower = line.to_lowercase();
    let ends_colon = lower.ends_with(':');
    (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("am ") && lower.contains("schrieb") && ends_colon)
        || (lower.starts_with("le ")
            && (lower.ends_with("a écrit :") || lower.ends_with("a écrit:")))
        || (lower.starts_with("el ") && lower.ends_with("escribió:"))
        || (lower.starts_with("il ") && lower.contains("ha scritto") && ends_colon)
        || (lower.starts_with("op ") && lower.contains("schreef") && ends_colon)
        || (lower.starts_with("den ") && lower.contains("skrev") && ends_colon)
}

/// Outlook's forwarded header block: `From:` followed within a few lines by `Sent:` (or its
/// translations, or `Date:`).
fn is_outlook_block(line: &str, rest: &[&str]) -> bool {
    let field = |l: &str, names: &[&str]| {
        let l = l.trim_start_matches('*').trim();
        names.iter().any(|n| starts_with_lowercase(l.chars(), n))
    };
    field(
        line,
        &["from:", "von:", "de :", "de:", "da:", "van:", "från:"],
    ) && rest.iter().take(LOOKAHEAD_LINES).any(|l| {
        field(
            l,
            &[
                "sent:",
                "date:",
                "gesendet:",
                "datum:",
                "envoyé :",
                "envoyé:",
                "enviado el:",
                "enviado:",
                "fecha:",
                "inviato:",
                "data:",
                "verzonden:",
                "skickat:",
            ],
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attribution_wrapped_after_its_first_word_still_cuts() {
        let text =
            "Thanks, see you then\nOn\nMon, 2 Mar 2026, Jane <jane@example.com> wrote:\n> old";
        assert_eq!(new_text(text), "Thanks, see you then");
        let text = "Thanks\nDEN\n2 mars 2026 skrev Jane:\n> old";
        assert_eq!(new_text(text), "Thanks");
    }

    #[test]
    fn attribution_styles_cut_the_quoted_part() {
        let attributions = [
            "On Mon, 2 Mar 2026 at 10:00, Jane Doe <jane@example.com> wrote:",
            "Am 02.03.2026 um 10:00 schrieb Jane Doe <jane@example.com>:",
            "Le lun. 2 mars 2026 à 10:00, Jane Doe <jane@example.com> a écrit :",
            "El lun, 2 mar 2026 a las 10:00, Jane Doe (<jane@example.com>) escribió:",
            "Il giorno lun 2 mar 2026 alle ore 10:00 Jane Doe <jane@example.com> ha scritto:",
            "Op ma 2 mrt 2026 om 10:00 schreef Jane Doe <jane@example.com>:",
            "Den mån 2 mars 2026 kl 10:00 skrev Jane Doe <jane@example.com>:",
            "-----Original Message-----",
            "----- Ursprüngliche Nachricht -----",
            "From: Jane Doe <jane@example.com>\nSent: Monday, March 2, 2026 10:00 AM\nTo: Bob",
            "Von: Jane Doe\nGesendet: Montag, 2. März 2026 10:00",
            "-- \nBob Smith, Recruiter",
        ];
        for attribution in attributions {
            let text =
                format!("Yes, please stop.\n\nThanks\n{attribution}\nOld text I wrote\n> quoted");
            assert_eq!(
                new_text(&text),
                "Yes, please stop.\n\nThanks",
                "{attribution}"
            );
        }
    }

    #[test]
    fn reading_up_to_a_length_gives_the_same_start_as_reading_everything() {
        let texts = [
            "",
            "\n  \n   Hello there,\n\n\nthanks for the call.   \n\nBest\n\n",
            "Short.\nOn Mon, 2 Mar 2026 at 10:00, Jane <jane@example.com> wrote:\n> old",
            "a\n> quoted\n\n   b  \n\n \n",
            "Tabs\tand   spaces   \n\t\n  indented line\n-- \nsig",
            "Grüße aus Köln, ça va ?\n\nÉté\nVon: Jane\nGesendet: Montag",
        ];
        for text in texts {
            let whole = new_text(text);
            for max in 0..whole.chars().count() + 3 {
                let part: String = new_text_up_to(text, max).chars().take(max).collect();
                let expect: String = whole.chars().take(max).collect();
                assert_eq!(part, expect, "{text:?} up to {max}");
            }
        }
        // Past the length, nothing more is read: the quote below would not be found anyway.
        assert_eq!(new_text_up_to("one two\nthree\nfour", 5), "one two");
    }

    /// `new_text_up_to` as it was before it read lines lazily: every line collected first, the
    /// quote tests given all the lines after the current one.
    fn reference(text: &str, max_chars: usize) -> String {
        let lines: Vec<&str> = text.lines().collect();
        let mut kept: Vec<&str> = Vec::new();
        let mut span: Option<usize> = None;
        let mut blank_run = 0;
        for (i, line) in lines.iter().enumerate() {
            let next = lines.get(i + 1).copied().unwrap_or("");
            if starts_the_quoted_part(line, next, &lines[i + 1..]) {
                break;
            }
            if line.trim_start().starts_with('>') {
                continue;
            }
            let line = line.trim_end();
            kept.push(line);
            if line.is_empty() {
                blank_run += usize::from(span.is_some());
                continue;
            }
            let chars = match span {
                None => line.trim_start().chars().count(),
                Some(before) => before + blank_run + 1 + line.chars().count(),
            };
            span = Some(chars);
            blank_run = 0;
            if chars >= max_chars {
                break;
            }
        }
        kept.join("\n").trim().to_string()
    }

    #[test]
    fn reading_lines_as_needed_finds_what_reading_them_all_found() {
        use rand::{Rng as _, SeedableRng as _};
        // Lines that start, or nearly start, a quoted part, among ordinary ones; an Outlook
        // block's `Sent:` may come one to six lines after its `From:`, across the look-ahead.
        let vocabulary = [
            "Hello Jane,",
            "",
            "   ",
            "> quoted",
            "  > quoted too",
            "From: Jane Doe <jane@example.com>",
            "Sent: Monday, March 2, 2026 10:00 AM",
            "Von: Jane",
            "Gesendet: Montag",
            "To: Bob",
            "Subject: Re: the role",
            "On Mon, 2 Mar 2026 at 10:00, Jane Doe <",
            "jane@example.com> wrote:",
            "-----Original Message-----",
            "-- ",
            "--",
            "Fromage is not a header",
            "Grüße, Zoë",
            "a line that is a little longer than the others, to reach the limits sooner",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        for round in 0..3000 {
            let count = rng.random_range(0..14);
            let eol = if round % 3 == 0 { "\r\n" } else { "\n" };
            let mut text = String::new();
            for _ in 0..count {
                text.push_str(vocabulary[rng.random_range(0..vocabulary.len())]);
                text.push_str(eol);
            }
            if rng.random_bool(0.3) {
                text.pop();
            }
            for max in [0, 1, 5, 12, 40, 100, 2000, usize::MAX] {
                assert_eq!(
                    new_text_up_to(&text, max),
                    reference(&text, max),
                    "{text:?} up to {max}"
                );
            }
        }
    }

    #[test]
    fn quoted_lines_go_and_wrapped_attributions_are_found() {
        assert_eq!(
            new_text("> old\nnew line\n  > older\nmore"),
            "new line\nmore"
        );
        let wrapped =
            "Sounds good.\nOn Mon, 2 Mar 2026 at 10:00, Jane Doe <\njane@example.com> wrote:\n> hi";
        assert_eq!(new_text(wrapped), "Sounds good.");
        assert_eq!(
            new_text("On my way, talk soon.\nBob"),
            "On my way, talk soon.\nBob"
        );
        assert_eq!(new_text(""), "");
    }
}
