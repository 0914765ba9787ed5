//! One message in, our `Message` out: ids, addresses, dates, text and the class of SPEC §2.
//!
//! Inbound mail is hostile and broken, so everything here parses liberally and never panics:
//! mail-parser does the MIME work, and the few fields where its view is not ours (the first
//! Message-ID, X-Candor, classification headers) are read from the raw header block.

mod bounce;
mod classify;
mod decode;
mod headers;
mod ooo;
mod quote;
mod shortcut;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use mail_parser::MessageParser;
use sha2::{Digest, Sha256};

pub use classify::is_role_address;
pub use ooo::ooo_return_date;
pub use quote::new_text;
pub use quote::new_text_up_to;

/// How many bytes of the body (after the header block) the IMAP layer fetches.
///
/// Chosen on the corpora (`tests/it/classify.rs` prints the figures): at 8, 16 and 32 KiB no
/// message of the 1294 changes class; what truncation costs is bounce recipients whose
/// delivery-status part sits behind a long notice (median offset of Final-Recipient in sisimai:
/// ~1 KB, p90 ~4.5 KB, p95 ~8.3 KB; AOL's HTML notices put it past 60 KB). 8 KiB loses 15
/// recipient lists, 16 KiB 11, 32 KiB 8: 16 KiB is the knee, at a bounded cost per message.
pub const BODY_PREFIX_BYTES: u32 = 16384;

/// Where the body of `raw` (a message or a prefix of one) starts: after the first empty line.
/// `None` when no empty line ends the header block within `raw`.
pub fn body_start(raw: &[u8]) -> Option<usize> {
    headers::header_end(raw).map(|(_, body)| body)
}

/// How many bytes of decoded text we keep in [`Message::text`].
const TEXT_MAX_BYTES: usize = BODY_PREFIX_BYTES as usize;

/// How much of the body text goes into the stable hash (SPEC §2: "the first KB").
const HASH_TEXT_BYTES: usize = 1024;

/// The class of a message (SPEC §2): exactly one per message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    Human,
    AutoReply,
    Bounce,
    List,
    Role,
    Own,
}

impl Class {
    pub const ALL: [Class; 6] = [
        Class::Human,
        Class::AutoReply,
        Class::Bounce,
        Class::List,
        Class::Role,
        Class::Own,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Class::Human => "human",
            Class::AutoReply => "auto_reply",
            Class::Bounce => "bounce",
            Class::List => "list",
            Class::Role => "role",
            Class::Own => "own",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Class`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown message class {0:?}")]
pub struct UnknownClass(pub String);

impl FromStr for Class {
    type Err = UnknownClass;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Class::ALL
            .into_iter()
            .find(|class| class.as_str() == s)
            .ok_or_else(|| UnknownClass(s.to_string()))
    }
}

/// Whether a bounce is final (5.x.x) or transient (4.x.x, delayed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BounceKind {
    Hard,
    Soft,
}

impl BounceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BounceKind::Hard => "hard",
            BounceKind::Soft => "soft",
        }
    }
}

/// What a bounce tells us: how bad, who, and the DSN status if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    pub kind: BounceKind,
    /// Lowercased; from Final-Recipient, then Original-Recipient where it differs (a forwarding
    /// address), else best effort from the text.
    pub recipients: Vec<String>,
    /// The enhanced status code, e.g. `5.1.1`.
    pub status: Option<String>,
}

/// One mailbox from an address header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Lowercased and trimmed.
    pub address: String,
    /// The display name, without CR/LF.
    pub name: Option<String>,
}

/// The `X-Candor` header of a message candor sent (SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandorMark {
    pub kind: String,
    pub outbox: Option<i64>,
    pub account: Option<String>,
}

/// One parsed and classified message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The first Message-ID header, without `<>`, trimmed, at most 998 bytes.
    pub message_id: Option<String>,
    /// Further Message-ID headers, if any.
    pub extra_message_ids: Vec<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Address>,
    pub reply_to: Vec<Address>,
    pub to: Vec<Address>,
    pub cc: Vec<Address>,
    /// Decoded, line breaks folded to spaces.
    pub subject: Option<String>,
    pub date: Option<jiff::Timestamp>,
    pub class: Class,
    /// For an auto-reply: the return date found in the subject or text.
    pub ooo_until: Option<jiff::civil::Date>,
    pub bounce: Option<Bounce>,
    pub candor: Option<CandorMark>,
    /// The start of the text/plain part (or text from HTML), lossy UTF-8.
    pub text: String,
    /// Hex SHA-256 of the stable fields (SPEC §2).
    pub stable_hash: String,
}

/// Input that is not an email at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Unparseable {
    pub reason: String,
}

/// mail-parser, built once: only the headers read through it are parsed (MIME, Date, Subject,
/// addresses); the rest (Received chains above all) are skipped, since candor reads them from
/// its own header parse.
static MIME_PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .with_minimal_headers()
        .default_header_ignore()
});

/// Parses and classifies one message: `raw` is the header block plus a possibly truncated body.
///
/// mail-parser sees only the parts candor reads (see `shortcut`), and for the common message
/// only its structure: the fields it parses for candor, the parts' headers, not the content of
/// the text part, which candor decodes as mail-parser would (`decode`). The result is the same as
/// [`parse_whole`]'s, which the corpus test and the fuzzer check.
///
/// Never panics: inbound mail is hostile, and a panic in candor's own reading (a bounce notice cut
/// inside a character did, found in review) would fail the batch every later pass fetches again,
/// stopping the account's ingest at that message. It is skipped with a reason instead.
pub fn parse(raw: &[u8]) -> Result<Message, Unparseable> {
    parse_guarded(raw, None)
}

/// [`parse`] for a message the server received at `internal_date` (its INTERNALDATE): an
/// out-of-office return date ("back on Monday") is read relative to the message time of SPEC §2,
/// not to a Date header that is missing or more than a day off.
pub fn parse_received(raw: &[u8], internal_date: jiff::Timestamp) -> Result<Message, Unparseable> {
    parse_guarded(raw, Some(internal_date))
}

fn parse_guarded(
    raw: &[u8],
    internal_date: Option<jiff::Timestamp>,
) -> Result<Message, Unparseable> {
    std::panic::catch_unwind(|| parse_with(raw, true, internal_date)).unwrap_or_else(|_| {
        Err(Unparseable {
            reason: "candor could not read this message (a bug in candor: please report it)"
                .to_string(),
        })
    })
}

/// [`parse`] with mail-parser given the whole message: the reference the shortcut is checked
/// against.
pub fn parse_whole(raw: &[u8]) -> Result<Message, Unparseable> {
    parse_with(raw, false, None)
}

fn parse_with(
    raw: &[u8],
    shortcut: bool,
    internal_date: Option<jiff::Timestamp>,
) -> Result<Message, Unparseable> {
    let raw = headers::normalize_line_endings(raw);
    let (header_block, body) = headers::split_header_body(&raw);
    let header_text = headers::lossy(header_block);
    let (raw_headers, clean_headers) = headers::parse_headers(&header_text);
    let has = |name: &str| headers::first(&raw_headers, name).is_some();
    if !has("From") && !has("Date") && !has("Message-ID") {
        return Err(Unparseable {
            reason: "not an email: no From, Date or Message-ID header".to_string(),
        });
    }
    let body_start = raw.len() - body.len();
    let mut content_types = headers::values(&raw_headers, "Content-Type");
    // A block that is not clean may end elsewhere for mail-parser (the fuzzer found the top
    // level read as multipart one way and as text the other), and a Date that mail-parser reads
    // past its line may hide the next field from it, the Content-Type among them: no shortcut
    // then.
    let dates_ok = || {
        headers::values(&raw_headers, "Date")
            .all(|date| shortcut::date_stays_on_its_line(date.as_bytes()))
    };
    let top = match (content_types.next(), content_types.next()) {
        (content_type, None) if shortcut && clean_headers && dates_ok() => Some(content_type),
        _ => None,
    };
    // The common message: mail-parser reads the structure without the text part's content,
    // which candor decodes itself (`decode`), as mail-parser would have.
    let plan = top.and_then(|content_type| {
        shortcut::plan(&raw, content_type, header_block.len(), body_start)
    });
    let fast = plan.as_ref().and_then(|plan| {
        let parsed = mime(&plan.input).ok()?;
        text_as_planned(&parsed, plan).map(|text| (parsed, text))
    });
    // Otherwise mail-parser reads the parts candor needs (see `shortcut`), or the whole message.
    let mime_input;
    let (parsed, text) = match fast {
        Some(done) => done,
        None => {
            mime_input = match top {
                Some(Some(content_type)) => shortcut::relevant(&raw, content_type, body_start),
                _ => std::borrow::Cow::Borrowed(&raw[..]),
            };
            let mut parsed = mime(&mime_input)?;
            // A part mail-parser could not decode changes which part it takes as the text: in
            // multipart/mixed, an HTML part that a cut has left out (found in review). Such
            // rare messages are read whole.
            if matches!(mime_input, std::borrow::Cow::Owned(_))
                && parsed.parts.iter().any(|part| part.is_encoding_problem)
            {
                parsed = mime(&raw)?;
            }
            let text = body_text(&parsed);
            (parsed, text)
        }
    };

    let mut ids = headers::values(&raw_headers, "Message-ID").filter_map(headers::message_id_of);
    let message_id = ids.next();
    let extra_message_ids = ids.collect();
    let id_lists = |name: &str| -> Vec<String> {
        headers::values(&raw_headers, name)
            .flat_map(headers::id_list)
            .collect()
    };
    let subject = parsed.subject().map(headers::fold_line_breaks);
    let from = addresses(parsed.header_values(mail_parser::HeaderName::From))
        .into_iter()
        .next();
    let to = addresses(parsed.header_values(mail_parser::HeaderName::To));
    let cc = addresses(parsed.header_values(mail_parser::HeaderName::Cc));
    let reply_to = addresses(parsed.header_values(mail_parser::HeaderName::ReplyTo));
    let date = parsed.date().and_then(to_timestamp);
    let stable_hash = stable_hash(
        from.as_ref(),
        &to,
        &cc,
        headers::first(&raw_headers, "Date"),
        subject.as_deref(),
        &text,
    );
    let facts = classify::Facts {
        headers: &raw_headers,
        parsed: &parsed,
        raw: &raw,
        from: from.as_ref(),
        to: &to,
        subject: subject.as_deref().unwrap_or(""),
        text: &text,
    };
    let verdict = classify::classify(&facts);
    // Relative dates are read from when the message was sent: its message time where the
    // server's INTERNALDATE is known (found in review: a Date a year off paused a conversation
    // until a day a year ago).
    let sent = match internal_date {
        Some(internal_date) => Some(message_time(date, internal_date)),
        None => date,
    };
    let ooo_until = match (verdict.class, sent) {
        (Class::AutoReply, Some(sent)) if !verdict.read_receipt => {
            let sent = sent.to_zoned_datetime(jiff::tz::TimeZone::UTC).date();
            ooo_return_date(subject.as_deref().unwrap_or(""), &text, sent)
        }
        _ => None,
    };
    Ok(Message {
        message_id,
        extra_message_ids,
        in_reply_to: id_lists("In-Reply-To"),
        references: id_lists("References"),
        from,
        reply_to,
        to,
        cc,
        subject,
        date,
        class: verdict.class,
        ooo_until,
        bounce: verdict.bounce,
        candor: verdict.candor,
        text,
        stable_hash,
    })
}

/// mail-parser's reading of `input`.
///
/// mail-parser asserts its own invariants in debug builds (the fuzzer reached one with a
/// message/rfc822 part inside a boundary line, 2026-11-26): a panic in it skips this message with
/// a reason instead of failing the batch it came in.
fn mime(input: &[u8]) -> Result<mail_parser::Message<'_>, Unparseable> {
    match std::panic::catch_unwind(|| MIME_PARSER.parse(input)) {
        Ok(Some(parsed)) => Ok(parsed),
        Ok(None) => Err(Unparseable {
            reason: "not an email: the MIME parser found no message".to_string(),
        }),
        Err(_) => Err(Unparseable {
            reason: "the MIME parser failed on this message's structure".to_string(),
        }),
    }
}

/// SPEC §2: the Date header when present and within 24 h of the server's INTERNALDATE, else
/// INTERNALDATE (clients with wrong clocks and forged dates must not skew latencies).
pub fn message_time(
    date: Option<jiff::Timestamp>,
    internal_date: jiff::Timestamp,
) -> jiff::Timestamp {
    const DAY_SECONDS: i64 = 24 * 60 * 60;
    match date {
        Some(date) if (date.as_second() - internal_date.as_second()).abs() <= DAY_SECONDS => date,
        _ => internal_date,
    }
}

/// The addresses of all headers given, lowercased and trimmed; entries without an address
/// (group names, garbage) are dropped.
fn addresses<'a>(values: impl Iterator<Item = &'a mail_parser::HeaderValue<'a>>) -> Vec<Address> {
    values
        .filter_map(|value| value.as_address())
        .flat_map(|address| address.iter())
        .filter_map(|addr| {
            let address = addr.address.as_deref()?.trim().to_lowercase();
            if address.is_empty() {
                return None;
            }
            let name = addr
                .name
                .as_deref()
                .map(headers::fold_line_breaks)
                .filter(|name| !name.is_empty());
            Some(Address { address, name })
        })
        .collect()
}

/// mail-parser's date, checked: it accepts out-of-range fields, which jiff refuses.
fn to_timestamp(date: &mail_parser::DateTime) -> Option<jiff::Timestamp> {
    let civil = jiff::civil::DateTime::new(
        i16::try_from(date.year).ok()?,
        i8::try_from(date.month).ok()?,
        i8::try_from(date.day).ok()?,
        i8::try_from(date.hour).ok()?,
        i8::try_from(date.minute).ok()?,
        // A leap second (:60) is read as :59.
        i8::try_from(date.second.min(59)).ok()?,
        0,
    )
    .ok()?;
    let offset_seconds = i32::from(date.tz_hour) * 3600 + i32::from(date.tz_minute) * 60;
    let offset_seconds = if date.tz_before_gmt {
        -offset_seconds
    } else {
        offset_seconds
    };
    let offset = jiff::tz::Offset::from_seconds(offset_seconds).ok()?;
    offset.to_timestamp(civil).ok()
}

/// The text of `plan`'s part, decoded by candor, when mail-parser read the planned input as
/// the plan expects: its first text body is a text part whose content starts where the plan
/// left it out. `None` sends the message to mail-parser whole.
fn text_as_planned(parsed: &mail_parser::Message<'_>, plan: &shortcut::Plan<'_>) -> Option<String> {
    let part = parsed.parts.get(*parsed.text_body.first()? as usize)?;
    if part.offset_body as usize != plan.offset_in_input
        || !matches!(part.body, mail_parser::PartType::Text(_))
    {
        return None;
    }
    let encoding = match part.encoding {
        mail_parser::Encoding::None => decode::Encoding::None,
        mail_parser::Encoding::QuotedPrintable => decode::Encoding::QuotedPrintable,
        mail_parser::Encoding::Base64 => decode::Encoding::Base64,
    };
    let bytes = decode::part(encoding, &plan.data, &plan.boundary)?;
    // mail-parser's own charset decoders, as it picks them.
    let charset = mail_parser::MimeHeaders::content_type(part)
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes()));
    let mut text = match (charset, bytes) {
        (Some(decoder), bytes) => decoder(&bytes),
        // mail-parser's `String::from_utf8_lossy`, valid UTF-8 checked first; decoded bytes
        // become the text without a copy.
        (None, std::borrow::Cow::Owned(bytes)) => String::from_utf8(bytes)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
        (None, std::borrow::Cow::Borrowed(bytes)) => headers::lossy(bytes).into_owned(),
    };
    let kept = headers::truncate_at_char(&text, TEXT_MAX_BYTES).len();
    text.truncate(kept);
    Some(text)
}

/// The first text body (text/plain, else text converted from HTML), capped at a char boundary.
fn body_text(parsed: &mail_parser::Message<'_>) -> String {
    let text = parsed.body_text(0).unwrap_or_default();
    headers::truncate_at_char(&text, TEXT_MAX_BYTES).to_string()
}

/// SHA-256 over the stable fields of SPEC §2, each terminated by a NUL so that fields cannot
/// run into each other. Never per-delivery headers, so copies in several folders agree.
fn stable_hash(
    from: Option<&Address>,
    to: &[Address],
    cc: &[Address],
    date: Option<&str>,
    subject: Option<&str>,
    text: &str,
) -> String {
    let mut hasher = Sha256::new();
    let join = |list: &[Address]| {
        list.iter()
            .map(|a| a.address.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    hasher.update(from.map_or("", |a| a.address.as_str()));
    hasher.update([0]);
    hasher.update(join(to));
    hasher.update([0]);
    hasher.update(join(cc));
    hasher.update([0]);
    hasher.update(date.unwrap_or("").trim());
    hasher.update([0]);
    hasher.update(subject.unwrap_or(""));
    hasher.update([0]);
    hasher.update(headers::truncate_at_char(text, HASH_TEXT_BYTES));
    // Written digit by digit: `format!` per byte, then `write!` per byte, were each a
    // measurable part of a first sync (issue 4).
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}
