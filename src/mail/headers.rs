//! Raw header access: the few fields we read ourselves instead of trusting mail-parser's view.
//!
//! mail-parser keeps the *last* of repeated headers (notmuch and we want the first Message-ID),
//! and some headers (X-Candor, Auto-Submitted, Final-Recipient lines) are simplest to read
//! verbatim. Everything here works on lossy UTF-8 and never panics.

/// The longest id we store: RFC 5322 §2.1.1 caps a line at 998 bytes, so no legitimate id is
/// longer; garbage past that is cut, not rejected.
pub const MAX_ID_BYTES: usize = 998;

/// One unfolded header field: name as written, value with folding line breaks removed
/// (borrowed from the header block unless it was folded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader<'a> {
    pub name: &'a str,
    pub value: std::borrow::Cow<'a, str>,
}

/// Replaces CR-only line endings (classic Mac OS, seen in the sisimai `mac/` set) with LF, so
/// mail-parser and our own scanning see line breaks. CRLF and LF input is returned unchanged.
pub fn normalize_line_endings(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let has_lf = raw.contains(&b'\n');
    if has_lf || !raw.contains(&b'\r') {
        return std::borrow::Cow::Borrowed(raw);
    }
    std::borrow::Cow::Owned(
        raw.iter()
            .map(|&b| if b == b'\r' { b'\n' } else { b })
            .collect(),
    )
}

/// `bytes` as text, invalid UTF-8 replaced: `String::from_utf8_lossy`, with the common valid case
/// checked first by `str::from_utf8`, whose ASCII fast path reads a word at a time where the lossy
/// scan reads a byte (2.4% of a first sync's profile was that scan over header blocks).
pub fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// `text.lines()`: split at `\n` and `\r\n`, without a last empty line. The standard library
/// looks for each `\n` with a portable byte scan; the `memchr` crate's vectorised search made
/// this a measurable part of parsing (issue 4).
pub fn lines(text: &str) -> Lines<'_> {
    Lines { rest: text }
}

/// The iterator of [`lines`]; cloning it looks ahead.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.rest.is_empty() {
            return None;
        }
        let line = match memchr::memchr(b'\n', self.rest.as_bytes()) {
            Some(end) => {
                // Both cuts fall on ASCII bytes, hence on character boundaries.
                let line = &self.rest[..end];
                self.rest = &self.rest[end + 1..];
                line.strip_suffix('\r').unwrap_or(line)
            }
            None => std::mem::take(&mut self.rest),
        };
        Some(line)
    }
}

/// Where the first empty line of `raw` starts, and where the body after it starts; `None` when
/// no line is empty (all of `raw` is header). A line holding only CR counts as empty.
pub fn header_end(raw: &[u8]) -> Option<(usize, usize)> {
    let mut line_start = 0;
    for newline in memchr::memchr_iter(b'\n', raw) {
        let line = &raw[line_start..newline];
        if line.is_empty() || line == b"\r" {
            return Some((line_start, newline + 1));
        }
        line_start = newline + 1;
    }
    None
}

/// Splits a message into its header block and body at the first empty line.
pub fn split_header_body(raw: &[u8]) -> (&[u8], &[u8]) {
    match header_end(raw) {
        Some((end, body)) => (&raw[..end], &raw[body..]),
        None => (raw, &[]),
    }
}

/// Parses a header block (as lossy UTF-8) into unfolded fields, in order, and says whether the
/// block is clean: every line a field or the continuation of one with something on it. Other
/// lines (a leading mbox `From ` line, garbage) are skipped; mail-parser ends the block at the
/// first of them instead, so for an unclean block the two disagree on where the body starts.
pub fn parse_headers(text: &str) -> (Vec<RawHeader<'_>>, bool) {
    // One field per line at most: sized once, and small for a part's few fields (a block of 1 KiB
    // or more made glibc's malloc consolidate its free lists first, issue 4).
    let mut headers: Vec<RawHeader<'_>> =
        Vec::with_capacity(memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1);
    let mut clean = true;
    let mut lines = lines(text);
    while let Some(line) = lines.next() {
        // A field takes the continuation lines after it (below): one here follows no field.
        if is_continuation(line) {
            clean = false;
            continue;
        }
        let Some((name, value)) = split_at_byte(line, b':') else {
            clean = false;
            continue;
        };
        // A field name is printable ASCII without spaces (RFC 5322 §3.6.8).
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic()) {
            clean = false;
            continue;
        }
        let value = value.trim();
        // A folded field is unfolded into one string, sized first: growing it line by line was
        // most of this function's time (issue 4).
        let continuations = lines.clone().take_while(|line| is_continuation(line));
        let folded_len: usize = continuations.map(|line| 1 + line.trim().len()).sum();
        let value = if folded_len == 0 {
            std::borrow::Cow::Borrowed(value)
        } else {
            let mut unfolded = String::with_capacity(value.len() + folded_len);
            unfolded.push_str(value);
            while let Some(next) = lines.clone().next().filter(|line| is_continuation(line)) {
                lines.next();
                clean &= !next.bytes().all(|b| b.is_ascii_whitespace());
                unfolded.push(' ');
                unfolded.push_str(next.trim());
            }
            std::borrow::Cow::Owned(unfolded)
        };
        headers.push(RawHeader { name, value });
    }
    (headers, clean)
}

/// Whether a header line continues the field before it (starts with white space).
fn is_continuation(line: &str) -> bool {
    line.starts_with([' ', '\t'])
}

/// Where the ASCII byte `byte` first occurs in `text` (a character boundary): the `memchr`
/// crate's search, several times faster than `str::find` with a `char` on header lines (issue 4).
fn find_byte(text: &str, byte: u8) -> Option<usize> {
    debug_assert!(byte.is_ascii());
    memchr::memchr(byte, text.as_bytes())
}

/// `text.split_once(byte as char)` for an ASCII byte, with [`find_byte`].
fn split_at_byte(text: &str, byte: u8) -> Option<(&str, &str)> {
    let at = find_byte(text, byte)?;
    Some((&text[..at], &text[at + 1..]))
}

/// All values of the header `name` (case-insensitive), in order.
pub fn values<'a>(
    headers: &'a [RawHeader<'_>],
    name: &'a str,
) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .iter()
        .filter(move |h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_ref())
}

/// The first value of the header `name`, if present.
pub fn first<'a>(headers: &'a [RawHeader<'_>], name: &'a str) -> Option<&'a str> {
    values(headers, name).next()
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub fn truncate_at_char(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The id of a Message-ID header value: the text between the first `<` and the next `>`, else the
/// trimmed value; capped at [`MAX_ID_BYTES`]. `None` when empty.
pub fn message_id_of(value: &str) -> Option<String> {
    let inner = match value.find('<') {
        Some(start) => {
            let rest = &value[start + 1..];
            rest.find('>').map_or(rest, |end| &rest[..end])
        }
        None => value,
    };
    let id = truncate_at_char(inner.trim(), MAX_ID_BYTES).trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// The ids in an In-Reply-To or References value, in order, without brackets. Bogus ids
/// (`<yes>`) are kept; threading decides what to ignore. A value without any `<...>` that is a
/// single token is kept as an id too (some clients omit the brackets); free text is dropped.
pub fn id_list(value: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut rest = value;
    while let Some(start) = find_byte(rest, b'<') {
        let after = &rest[start + 1..];
        let Some(end) = find_byte(after, b'>') else {
            break;
        };
        let id = truncate_at_char(after[..end].trim(), MAX_ID_BYTES).trim();
        if !id.is_empty() {
            ids.push(id.to_string());
        }
        rest = &after[end + 1..];
    }
    if ids.is_empty() {
        let trimmed = value.trim();
        if !trimmed.is_empty() && !trimmed.contains(char::is_whitespace) && !trimmed.contains('<') {
            ids.push(truncate_at_char(trimmed, MAX_ID_BYTES).to_string());
        }
    }
    ids
}

/// Replaces line breaks (and the folding whitespace after them) with one space, so that names and
/// subjects never carry CR or LF into logs, the database or outgoing headers.
pub fn fold_line_breaks(s: &str) -> String {
    // Most names and subjects have no line break: one copy, trimmed.
    if memchr::memchr2(b'\r', b'\n', s.as_bytes()).is_none() {
        return s.trim().to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' || c == '\n' {
            while chars
                .peek()
                .is_some_and(|n| matches!(n, '\r' | '\n' | ' ' | '\t'))
            {
                chars.next();
            }
            if !out.ends_with([' ', '\t']) {
                out.push(' ');
            }
        } else {
            out.push(c);
        }
    }
    // Trimmed in place rather than copied again.
    out.truncate(out.trim_end().len());
    let leading = out.len() - out.trim_start().len();
    out.drain(..leading);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_those_of_the_standard_library() {
        for text in [
            "",
            "a",
            "\n",
            "\r\n",
            "\r",
            "a\r",
            "a\n",
            "a\r\n",
            "a\n\nb",
            "a\r\n\r\nb\r\n",
            "a\rb\r\r\nc",
            "\n\n",
            "é\r\nü\nx\r",
        ] {
            assert_eq!(
                lines(text).collect::<Vec<_>>(),
                text.lines().collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn lossy_text_borrows_valid_utf8_and_replaces_invalid_bytes() {
        assert!(matches!(
            lossy("é a".as_bytes()),
            std::borrow::Cow::Borrowed("é a")
        ));
        assert_eq!(lossy(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(lossy(b"a\xffb"), String::from_utf8_lossy(b"a\xffb"));
    }

    #[test]
    fn unfolds_and_keeps_order_and_case_insensitive_lookup() {
        let block =
            b"From x\r\nmessage-id: <a@b>\r\nSubject: one\r\n\ttwo\r\nMESSAGE-ID: <c@d>\r\n";
        let text = String::from_utf8_lossy(block);
        let (headers, _) = parse_headers(&text);
        assert_eq!(first(&headers, "Subject"), Some("one two"));
        let ids: Vec<_> = values(&headers, "Message-Id").collect();
        assert_eq!(ids, ["<a@b>", "<c@d>"]);
    }

    #[test]
    fn ids_are_unbracketed_capped_and_bogus_ones_kept() {
        assert_eq!(message_id_of("  <Ab@C>  "), Some("Ab@C".into()));
        assert_eq!(message_id_of("bare@id"), Some("bare@id".into()));
        assert_eq!(message_id_of("<>"), None);
        assert_eq!(message_id_of(""), None);
        let huge = format!("<{}@x>", "é".repeat(2000));
        let id = message_id_of(&huge).expect("non-empty");
        assert!(id.len() <= MAX_ID_BYTES);
        assert_eq!(id_list("<a@b> <yes>\t<c@d>"), ["a@b", "yes", "c@d"]);
        assert_eq!(id_list("Your message of Monday <x@y>"), ["x@y"]);
        assert_eq!(id_list("bare@id"), ["bare@id"]);
        assert!(id_list("some free text").is_empty());
        assert!(id_list("<unterminated").is_empty());
    }

    #[test]
    fn cr_only_line_endings_become_lf() {
        assert_eq!(
            &*normalize_line_endings(b"A: b\rC: d\r\rbody"),
            b"A: b\nC: d\n\nbody"
        );
        assert_eq!(&*normalize_line_endings(b"A: b\r\n\r\n"), b"A: b\r\n\r\n");
    }

    #[test]
    fn splits_at_the_first_empty_line() {
        let (h, b) = split_header_body(b"A: b\r\n\r\nbody\r\n\r\nmore");
        assert_eq!(h, b"A: b\r\n");
        assert_eq!(b, b"body\r\n\r\nmore");
        assert_eq!(split_header_body(b"A: b"), (&b"A: b"[..], &b""[..]));
        // An empty first line: no header at all; LF alone and a lone CR end the block too.
        assert_eq!(header_end(b"\r\nbody"), Some((0, 2)));
        assert_eq!(header_end(b"A: b\n\nbody"), Some((5, 6)));
        assert_eq!(header_end(b"A: b\r\n\r\n"), Some((6, 8)));
        assert_eq!(
            header_end(b"A: b\r\n \r\nC: d"),
            None,
            "white space is not empty"
        );
        assert_eq!(header_end(b""), None);
    }

    #[test]
    fn line_breaks_fold_to_one_space() {
        assert_eq!(
            fold_line_breaks("Hello\r\n world\nagain\r"),
            "Hello world again"
        );
        // Trimmed with or without a line break, as `str::trim` trims.
        assert_eq!(fold_line_breaks(" \u{a0}Jane Doe\t "), "Jane Doe");
        assert_eq!(
            fold_line_breaks("\r\n\u{2003} Jane\r\n Doe \r\n"),
            "Jane Doe"
        );
        assert_eq!(fold_line_breaks("\r\n"), "");
        assert_eq!(fold_line_breaks(""), "");
    }
}
