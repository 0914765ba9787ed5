//! How much of a message mail-parser needs to see.
//!
//! mail-parser decodes every part it is given, and most mail is a text/plain part followed by
//! parts candor never reads: the HTML alternative (quoted-printable) and attachments (base64).
//! Decoding them was a third of the parse time of a first sync (issue 4). [`relevant`] finds
//! where the first text/plain part ends and, when everything after it is of a kind candor
//! ignores, returns the message up to there: mail-parser then sees the same text/plain part (the
//! CRLF before a delimiter belongs to the delimiter, so the part's bytes are unchanged) and
//! nothing else.
//!
//! Anything unusual keeps the whole message: another multipart subtype, a first leaf that is not
//! an inline text/plain part, or any later part that is not HTML, an application, an image, audio,
//! video or a font (a returned message, a delivery report, a second text part...). The corpus
//! test and the fuzzer check that the result equals a parse of the whole message.
//!
//! [`plan`] goes further for the common message (a single text/plain part, or one found as
//! above): mail-parser is given the top-level fields it parses for candor, the structure down to
//! the text part and the closing delimiters, but not the text part's content, which candor
//! decodes itself (`mail::decode`). A Received chain and a quoted-printable text were most of
//! what mail-parser read (issue 4).

use std::borrow::Cow;

use super::headers;

/// Nesting depth followed to the first leaf (mixed → alternative → text/plain is 2).
const MAX_DEPTH: usize = 4;

/// What mail-parser must see of `raw` (header block and body) so that candor reads the same
/// message from it: the message up to the end of its first text/plain part, with the open
/// multiparts closed (mail-parser does not decode a part whose boundary never comes), or the
/// whole of `raw` when no shortcut is safe. `content_type` is the top-level Content-Type value,
/// unfolded; `body_start` is where the body begins in `raw`.
pub fn relevant<'a>(raw: &'a [u8], content_type: &str, body_start: usize) -> Cow<'a, [u8]> {
    match shortcut(raw, content_type, body_start) {
        Some(found) => Cow::Owned(closed(raw, found.end, &found.open)),
        None => Cow::Borrowed(raw),
    }
}

/// What mail-parser is given when candor decodes the text part itself (`decode`).
pub struct Plan<'a> {
    /// The input for mail-parser: [`relevant`]'s, with the text part's content left out.
    pub input: Cow<'a, [u8]>,
    /// Where mail-parser must find the text part's content in `input` for the plan to hold.
    pub offset_in_input: usize,
    /// What mail-parser's decoder would read of the text part in [`relevant`]'s input: its
    /// content, then for a part of a multipart the line break and `--boundary` of the delimiter
    /// that ends it.
    pub data: Cow<'a, [u8]>,
    /// The innermost boundary; empty when the message is a single text part.
    pub boundary: Vec<u8>,
}

/// How to read `raw` with its first text/plain part decoded by candor: `None` when the message
/// has no such part in a shape `shortcut` knows (then [`relevant`] tells what mail-parser must
/// see). `content_type` is the top-level Content-Type value, if any; the header block is
/// `raw[..header_len]`, clean (see `headers::parse_headers`), and the body starts at
/// `body_start`.
pub fn plan<'a>(
    raw: &'a [u8],
    content_type: Option<&str>,
    header_len: usize,
    body_start: usize,
) -> Option<Plan<'a>> {
    match content_type.map_or(Kind::InlinePlain, Kind::of) {
        // A message that is one text part: mail-parser reads its header block alone.
        Kind::InlinePlain => {
            let mut input = Vec::with_capacity(body_start);
            fields_read(&raw[..header_len], &mut input);
            input.extend_from_slice(&raw[header_len..body_start]);
            Some(Plan {
                offset_in_input: input.len(),
                input: Cow::Owned(input),
                data: Cow::Borrowed(&raw[body_start..]),
                boundary: Vec::new(),
            })
        }
        Kind::Container { .. } => {
            let found = shortcut(raw, content_type?, body_start)?;
            // An empty part whose delimiter follows its header block: the cut comes before the
            // content (mail-parser then reads the header block's line break as content).
            if found.end < found.content {
                return None;
            }
            let eol = eol_at(raw, found.end);
            let innermost = found.open.last()?.as_bytes();
            let mut data =
                Vec::with_capacity(found.end - found.content + eol.len() + 2 + innermost.len());
            data.extend_from_slice(&raw[found.content..found.end]);
            data.extend_from_slice(eol);
            data.extend_from_slice(b"--");
            data.extend_from_slice(innermost);
            let mut input = Vec::with_capacity(found.content + 64);
            fields_read(&raw[..header_len], &mut input);
            input.extend_from_slice(&raw[header_len..found.content]);
            let offset_in_input = input.len();
            close(&mut input, eol, &found.open);
            Some(Plan {
                input: Cow::Owned(input),
                offset_in_input,
                data: Cow::Owned(data),
                boundary: innermost.to_vec(),
            })
        }
        Kind::Ignorable | Kind::Other => None,
    }
}

/// The top-level fields mail-parser reads for candor: `mail::MIME_PARSER` parses these
/// (`with_minimal_headers`) and skips all others, which `plan` therefore leaves out of its input
/// (a Received chain was a large part of mail-parser's time).
const FIELDS_READ: &[&str] = &[
    "Content-Type",
    "Content-Disposition",
    "Content-ID",
    "Content-Description",
    "Content-Location",
    "Content-Transfer-Encoding",
    "Date",
    "Subject",
    "From",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
];

/// Whether mail-parser's date parser reads this Date value without going past its line: the
/// usual `[Day,] D Mon YYYY HH:MM[:SS] ZONE`, the zone `+HHMM` or three letters or more, and
/// perhaps one comment after it. Where it expects the zone, a letter makes it take the next two
/// bytes as the rest of a zone name, whatever they are: after `Z`, `UT` or `+er` those are the
/// line break, and the next line becomes part of the date. It swallowed the Subject once fields
/// were left out (found in review), and the Content-Type that made a message multipart for
/// candor's scan and plain text for mail-parser (found by the fuzzer). `parse_with` takes no
/// shortcut, and [`part_at`] reads a part as something else, unless every Date passes.
pub fn date_stays_on_its_line(value: &[u8]) -> bool {
    // Inside a comment the parser skips letters and signs alike.
    let (date, comment) = match memchr::memchr(b'(', value) {
        Some(open) => (&value[..open], value[open..].trim_ascii()),
        None => (value, &b""[..]),
    };
    let comment_ok = match comment {
        [] => true,
        [b'(', inside @ .., b')'] => !inside.iter().any(|b| matches!(b, b'(' | b')' | b'\\')),
        _ => false,
    };
    comment_ok && is_usual_date(date)
}

fn is_usual_date(value: &[u8]) -> bool {
    let digits = |part: &[u8], lengths: std::ops::RangeInclusive<usize>| {
        lengths.contains(&part.len()) && part.iter().all(u8::is_ascii_digit)
    };
    let letters = |part: &[u8]| part.len() == 3 && part.iter().all(u8::is_ascii_alphabetic);
    let mut parts = value
        .split(|b| b.is_ascii_whitespace())
        .filter(|part| !part.is_empty())
        .peekable();
    if let Some(day_name) = parts.next_if(|part| part.ends_with(b","))
        && !letters(&day_name[..day_name.len() - 1])
    {
        return false;
    }
    let (Some(day), Some(month), Some(year), Some(time), Some(zone), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let mut clock = time.split(|b| *b == b':');
    let clock_ok = clock.clone().count() <= 3
        && (&mut clock).take(2).filter(|f| digits(f, 2..=2)).count() == 2
        && clock.all(|seconds| digits(seconds, 2..=2));
    digits(day, 1..=2)
        && letters(month)
        && digits(year, 4..=4)
        && clock_ok
        && ((zone.len() == 5 && matches!(zone[0], b'+' | b'-') && digits(&zone[1..], 4..=4))
            || (zone.len() >= 3 && zone.iter().all(u8::is_ascii_alphabetic)))
}

/// Appends the fields of a clean header `block` that mail-parser reads (`FIELDS_READ`), with
/// their continuation lines, as they are.
fn fields_read(block: &[u8], out: &mut Vec<u8>) {
    // mail-parser ends a header line at a bare CR too, where our scan sees one line: a field
    // hidden behind one ("References: <a>\rDate: ...", found by the fuzzer) must stay.
    let bare_cr = memchr::memchr_iter(b'\r', block).any(|at| block.get(at + 1) != Some(&b'\n'));
    let start = out.len();
    let mut keep = false;
    let mut at = 0;
    while !bare_cr && at < block.len() {
        let end = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i + 1);
        let line = &block[at..end];
        if !line.starts_with(b" ") && !line.starts_with(b"\t") {
            let colon = memchr::memchr(b':', line).unwrap_or(line.len());
            let name = &line[..colon];
            // A Date must end on its line (`date_stays_on_its_line`), unfolded; else every
            // field stays.
            if name.eq_ignore_ascii_case(b"Date")
                && (block.get(end).is_some_and(|b| *b == b' ' || *b == b'\t')
                    || !date_stays_on_its_line(&line[(colon + 1).min(line.len())..]))
            {
                break;
            }
            keep = FIELDS_READ
                .iter()
                .any(|field| field.as_bytes().eq_ignore_ascii_case(name));
        }
        if keep {
            out.extend_from_slice(line);
        }
        at = end;
    }
    if at < block.len() {
        out.truncate(start);
        out.extend_from_slice(block);
    }
}

/// The line break the cut adds: the one that was at the cut (before the delimiter), so that
/// the part ends as in `raw`. In a message with mixed line endings a quoted-printable soft break
/// `=` LF before the delimiter lost one more character when the cut put CRLF there (found in
/// review).
fn eol_at(raw: &[u8], cut: usize) -> &'static [u8] {
    if raw.get(cut) == Some(&b'\r') {
        b"\r\n"
    } else {
        b"\n"
    }
}

/// `raw` up to `cut`, then a close-delimiter for each boundary in `open`, innermost first.
fn closed(raw: &[u8], cut: usize, open: &[String]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cut + open.iter().map(|b| b.len() + 8).sum::<usize>());
    out.extend_from_slice(&raw[..cut]);
    close(&mut out, eol_at(raw, cut), open);
    out
}

/// Appends a close-delimiter for each boundary in `open`, innermost first, each after a line
/// break, and a last line break.
fn close(out: &mut Vec<u8>, eol: &[u8], open: &[String]) {
    for boundary in open.iter().rev() {
        out.extend_from_slice(eol);
        out.extend_from_slice(b"--");
        out.extend_from_slice(boundary.as_bytes());
        out.extend_from_slice(b"--");
    }
    out.extend_from_slice(eol);
}

/// The first text/plain part of a multipart message, where `shortcut` found it.
struct Found {
    /// Where its content starts (after its header block).
    content: usize,
    /// The cut after its content: the line break before the next delimiter starts there.
    end: usize,
    /// The boundaries open at the cut, outermost first.
    open: Vec<String>,
}

/// Where the first text/plain part is, when everything after it is of a kind candor ignores.
fn shortcut(raw: &[u8], content_type: &str, body_start: usize) -> Option<Found> {
    let mut kind = Kind::of(content_type);
    let mut from = body_start;
    let mut known: Vec<String> = Vec::new();
    for _ in 0..MAX_DEPTH {
        let Kind::Container { boundary } = kind else {
            return None;
        };
        let part = after_delimiter(raw, from, boundary.as_bytes())?;
        let (part_kind, content) = part_at(raw, part);
        known.push(boundary);
        kind = part_kind;
        if kind == Kind::InlinePlain {
            let innermost = known.last().map_or(&[][..], |b| b.as_bytes());
            let end = next_delimiter(raw, content, innermost)?;
            return rest_is_ignorable(raw, end, known.clone()).then_some(Found {
                content,
                end,
                open: known,
            });
        }
        from = content;
    }
    None
}

/// What a Content-Type (and disposition) says about a part, for our purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// multipart/alternative or multipart/mixed, with its boundary.
    Container {
        boundary: String,
    },
    /// text/plain, not an attachment and without a file name: the text candor reads.
    InlinePlain,
    /// text/html, application/*, image/*, audio/*, video/*, font/*: never read by candor.
    Ignorable,
    Other,
}

impl Kind {
    fn of(content_type: &str) -> Kind {
        let (media, params) = content_type.split_once(';').unwrap_or((content_type, ""));
        let media = media.trim();
        let is = |name: &str| media.eq_ignore_ascii_case(name);
        if is("multipart/alternative") || is("multipart/mixed") {
            return match param(params, "boundary") {
                Some(boundary) if !boundary.is_empty() => Kind::Container { boundary },
                _ => Kind::Other,
            };
        }
        if is("text/plain") {
            return match param(params, "name") {
                None => Kind::InlinePlain,
                Some(_) => Kind::Other,
            };
        }
        if is("text/html") {
            return Kind::Ignorable;
        }
        match media.split_once('/') {
            Some((kind, sub))
                if !sub.is_empty()
                    && ["application", "image", "audio", "video", "font"]
                        .iter()
                        .any(|ignored| kind.eq_ignore_ascii_case(ignored)) =>
            {
                Kind::Ignorable
            }
            _ => Kind::Other,
        }
    }

    /// A body part: no Content-Type means text/plain (RFC 2046 §5.1); any Content-Disposition
    /// makes a text/plain part something else (mail-parser may file it as an attachment). A
    /// part with several Content-Types is something else too: mail-parser goes by the last, and
    /// a multipart there may find its parts past the cut (as the top level, `parse_with` takes
    /// the shortcut only under exactly one).
    fn of_part(fields: &[headers::RawHeader<'_>]) -> Kind {
        let mut content_types = headers::values(fields, "Content-Type");
        let content_type = match (content_types.next(), content_types.next()) {
            (None, _) => "text/plain",
            (Some(content_type), None) => content_type,
            (Some(_), Some(_)) => return Kind::Other,
        };
        match Kind::of(content_type) {
            Kind::InlinePlain if headers::first(fields, "Content-Disposition").is_some() => {
                Kind::Other
            }
            kind => kind,
        }
    }
}

/// The value of parameter `name` in `;`-separated Content-Type parameters, unquoted.
fn param(params: &str, name: &str) -> Option<String> {
    params.split(';').find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim().eq_ignore_ascii_case(name).then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
                .to_owned()
        })
    })
}

/// Where mail-parser meets `--` followed by one of `boundaries` in `raw[from..]`: the position of
/// the dashes and the index of the boundary. Anywhere, not only at the start of a line: its scan
/// (`seek_next_part`, `mime_part`) looks for two dashes and the boundary wherever they are (the
/// fuzzer found a part that ended in the middle of a line, followed by a delivery report that a
/// line-by-line scan never saw).
fn next_dashes<B: AsRef<[u8]>>(
    raw: &[u8],
    from: usize,
    boundaries: &[B],
) -> Option<(usize, usize)> {
    // A '-' is rare in what follows a text part (base64 has none): look at each.
    memchr::memchr_iter(b'-', &raw[from..])
        .map(|at| from + at)
        .filter(|&at| raw.get(at + 1) == Some(&b'-'))
        .find_map(|at| {
            let after = &raw[at + 2..];
            boundaries
                .iter()
                .position(|b| after.starts_with(b.as_ref()))
                .map(|index| (at, index))
        })
}

/// What the `--boundary` found at `at` is, when it is one `shortcut` reads as mail-parser does.
enum Met {
    /// A delimiter line: the next part starts at this offset.
    Part(usize),
    /// A close delimiter: `--` right after the boundary (mail-parser allows nothing between).
    Close,
    /// In the middle of a line, or followed by anything but white space on its line: mail-parser
    /// reads it in its own way (a part header starting on that line, for one).
    Odd,
}

fn met(raw: &[u8], at: usize, boundary_len: usize) -> Met {
    if at > 0 && raw[at - 1] != b'\n' {
        return Met::Odd;
    }
    let after = at + 2 + boundary_len;
    let (line_end, next) = match memchr::memchr(b'\n', &raw[after..]) {
        Some(i) => (after + i, after + i + 1),
        None => (raw.len(), raw.len()),
    };
    let rest = &raw[after..line_end];
    let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
    if rest.starts_with(b"--") {
        Met::Close
    } else if rest.iter().all(|b| *b == b' ' || *b == b'\t') {
        Met::Part(next)
    } else {
        Met::Odd
    }
}

/// The start of the first part after the first `--boundary` from `from`, when that is a
/// delimiter line.
fn after_delimiter(raw: &[u8], from: usize, boundary: &[u8]) -> Option<usize> {
    let (at, _) = next_dashes(raw, from, &[boundary])?;
    match met(raw, at, boundary.len()) {
        Met::Part(next) => Some(next),
        Met::Close | Met::Odd => None,
    }
}

/// The cut before the first `--boundary` after `from`, where mail-parser ends the part: the line
/// break that precedes it belongs to the delimiter (RFC 2046 §5.1.1). `None` when that
/// `--boundary` does not start a line.
fn next_delimiter(raw: &[u8], from: usize, boundary: &[u8]) -> Option<usize> {
    let (start, _) = next_dashes(raw, from, &[boundary])?;
    if start == 0 || raw[start - 1] != b'\n' {
        return None;
    }
    // For an empty part that line break is the one ending the part's header block: cutting after
    // it would add a line to the part (the fuzzer found mail-parser reading such a part's text
    // with one more CRLF than from the whole message).
    let cut = start.checked_sub(1)?; // the '\n'
    Some(if cut > 0 && raw[cut - 1] == b'\r' {
        cut - 1
    } else {
        cut
    })
}

/// The kind of the part whose header starts at `at`, and where its content starts. A part whose
/// header block is not clean (see `headers::parse_headers`), or has a Date that mail-parser may
/// read past its line, is something else.
fn part_at(raw: &[u8], at: usize) -> (Kind, usize) {
    let (block, content) = headers::split_header_body(&raw[at..]);
    let content = raw.len() - content.len();
    let text = headers::lossy(block);
    let (fields, clean) = headers::parse_headers(&text);
    let dates_ok = headers::values(&fields, "Date").all(|d| date_stays_on_its_line(d.as_bytes()));
    let kind = if clean && dates_ok {
        Kind::of_part(&fields)
    } else {
        Kind::Other
    };
    (kind, content)
}

/// Whether every part that begins in `raw[from..]` is of a kind candor ignores (or a container
/// of such parts). Parts are found as mail-parser finds them, after any `--` and a boundary
/// declared so far (`known`, the boundaries around the text part), or of a container met on the
/// way; a `--boundary` that mail-parser could read otherwise (see [`Met::Odd`]) keeps everything.
fn rest_is_ignorable(raw: &[u8], from: usize, mut known: Vec<String>) -> bool {
    let mut at = from;
    while let Some((dashes, index)) = next_dashes(raw, at, &known) {
        let boundary_len = known[index].len();
        match met(raw, dashes, boundary_len) {
            Met::Odd => return false,
            Met::Close => at = dashes + 2 + boundary_len + 2,
            // The prefix ends on the delimiter.
            Met::Part(next) if next >= raw.len() => return true,
            Met::Part(next) => {
                match part_at(raw, next).0 {
                    Kind::Ignorable => {}
                    Kind::Container { boundary } => known.push(boundary),
                    Kind::InlinePlain | Kind::Other => return false,
                }
                at = next;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What mail-parser is given, as text.
    fn seen(raw: &str) -> String {
        let body = raw.find("\r\n\r\n").unwrap() + 4;
        let ct = raw[..body]
            .split("\r\n")
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .unwrap();
        String::from_utf8(relevant(raw.as_bytes(), ct, body).into_owned()).unwrap()
    }

    const ALTERNATIVE: &str = "From: a@x\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n\
        preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\nthere\r\n\
        --b1\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<p>Hello</p>\r\n--b1--\r\n";

    #[test]
    fn cuts_after_the_plain_alternative() {
        assert!(
            seen(ALTERNATIVE).ends_with("Hello\r\nthere\r\n--b1--\r\n"),
            "{:?}",
            seen(ALTERNATIVE)
        );
    }

    #[test]
    fn cuts_inside_mixed_with_attachments() {
        let raw = "From: a@x\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n--m\r\n\
            Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\nplain\r\n--b\r\n\
            Content-Type: text/html\r\n\r\n<p>x</p>\r\n--b--\r\n\r\n--m\r\n\
            Content-Type: application/pdf; name=\"cv.pdf\"\r\nContent-Disposition: attachment\r\n\r\nJVBER\r\n--m--\r\n";
        assert!(
            seen(raw).ends_with("\r\n\r\nplain\r\n--b--\r\n--m--\r\n"),
            "{:?}",
            seen(raw)
        );
    }

    #[test]
    fn keeps_everything_when_a_later_part_matters() {
        for later in [
            "message/rfc822",
            "message/delivery-status",
            "text/plain",
            "text/rfc822-headers",
        ] {
            let raw = format!(
                "From: a@x\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\
                 Content-Type: text/plain\r\n\r\nnotice\r\n--m\r\nContent-Type: {later}\r\n\r\nx\r\n--m--\r\n"
            );
            assert_eq!(seen(&raw), raw, "{later}");
        }
    }

    #[test]
    fn keeps_everything_when_the_first_leaf_is_not_inline_plain() {
        for first in [
            "Content-Type: text/html",
            "Content-Type: text/plain; name=notes.txt",
            "Content-Type: text/plain\r\nContent-Disposition: attachment",
            "Content-Type: text/plain\r\nContent-Type: multipart/report; boundary=r",
        ] {
            let raw = format!(
                "From: a@x\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\
                 {first}\r\n\r\nx\r\n--b\r\nContent-Type: text/html\r\n\r\ny\r\n--b--\r\n"
            );
            assert_eq!(seen(&raw), raw, "{first}");
        }
        let report = "From: a@x\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n\
            --b\r\n\r\nx\r\n--b\r\nContent-Type: text/html\r\n\r\ny\r\n--b--\r\n";
        assert_eq!(seen(report), report);
        let single = "From: a@x\r\nContent-Type: text/plain\r\n\r\nhello\r\n";
        assert_eq!(seen(single), single);
    }

    #[test]
    fn fields_are_left_out_only_after_usual_dates() {
        let kept = |block: &str| {
            let mut out = Vec::new();
            fields_read(block.as_bytes(), &mut out);
            String::from_utf8(out).unwrap()
        };
        let usual = "From: a@x\r\nDate: Mon, 1 Jan 2024 10:00:00 +0100\r\nMessage-ID: <1@x>\r\nSubject: s\r\n";
        assert_eq!(
            kept(usual),
            "From: a@x\r\nDate: Mon, 1 Jan 2024 10:00:00 +0100\r\nSubject: s\r\n"
        );
        for date in [
            "Mon, 1 Jan 2024 10:00:00 Z",
            "1 Jan 2024 10:00:00 UT",
            "Sat, 10 Oct 2009 00:30:04 +er",
            "Mon, 1 Jan 2024 10:00:00 +0100 (CET) x",
            "Mon, 1 Jan 2024 10:00:00 +0100 (a (b) c)",
            "garbage",
        ] {
            let block = format!("From: a@x\nDate: {date}\nMessage-ID: <1@x>\nSubject: s\n");
            assert_eq!(kept(&block), block, "{date}");
            assert!(!date_stays_on_its_line(date.as_bytes()), "{date}");
        }
        for date in [
            " 1 Jan 2024 10:00 -0500",
            "Mon, 1 Jan 2024 10:00:00 +0100 (CET)",
            "Mon, 1 Jan 2024 10:00:00 GMT",
            "Mon, 1 Jan 2024 10:00:00 CEST\r\n",
        ] {
            assert!(date_stays_on_its_line(date.as_bytes()), "{date}");
        }
    }

    #[test]
    fn broken_structures_keep_everything() {
        for raw in [
            // No delimiter at all, a boundary that never closes the text part, an empty boundary.
            "From: a@x\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\njust text\r\n",
            "From: a@x\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\r\ntext to the end",
            "From: a@x\r\nContent-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\nx\r\n",
            // A second text part behind an image.
            "From: a@x\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n--m\r\n\r\nhi\r\n--m\r\n\
             Content-Type: image/png\r\n\r\nAAAA\r\n--m\r\n\r\nsig\r\n",
        ] {
            assert_eq!(seen(raw), raw, "{raw:?}");
        }
    }
}
