//! The answers to a sync's UID FETCH commands, read straight off the connection.
//!
//! async-imap reads every response into a fresh zeroed block, tries its parser on each partial
//! read, and copies what is left after each response into another fresh block: about a quarter
//! of the reading thread's CPU in a first sync (issue 4). [`Wire`] keeps one buffer for the
//! whole sync, frames each response once (a line, plus the literals it announces), and parses
//! only what a FETCH answer needs: the UID, INTERNALDATE and message sections. Commands are
//! still sent through the session; the session reads nothing while a [`Wire`] is in use.
//!
//! Server input is hostile: nothing here panics on any input (see the tests), a response that
//! cannot be framed or a FETCH answer that cannot be parsed is an error (a message is never
//! passed over in silence), and other untagged responses are framed and skipped unread.

use std::borrow::Cow;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt as _};

/// The buffer's size at rest; it grows for a larger response and shrinks back after it.
const INITIAL_BYTES: usize = 256 * 1024;
/// The largest response accepted (async-imap's limit is 512 MiB): a message of this size is
/// only sent whole by a server that ignores the partial range asked for.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;
/// The least room offered to each read.
const MIN_READ_BYTES: usize = 32 * 1024;

/// Why reading responses stopped.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("reading from the server: {0}")]
    Io(#[from] std::io::Error),
    #[error("the server closed the connection")]
    Closed,
    #[error("the server closed the connection: {0}")]
    Bye(String),
    #[error("no data from the server for {0:?}")]
    TimedOut(Duration),
    #[error("unreadable answer from the server: {0}")]
    Protocol(String),
}

/// One response, borrowed from the reader's buffer until the next read.
#[derive(Debug, PartialEq, Eq)]
pub enum Response<'a> {
    /// An untagged FETCH answer.
    Fetch(Fetch<'a>),
    /// The tagged completion of a command.
    Done {
        tag: &'a str,
        status: Status,
        text: Cow<'a, str>,
    },
    /// Any other untagged response or a continuation request: framed, not read.
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    No,
    Bad,
}

/// The parts of a FETCH answer a sync reads; every other attribute is skipped.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fetch<'a> {
    pub uid: Option<u32>,
    pub internal_date: Option<jiff::Timestamp>,
    /// `BODY[]` (with or without an origin) or `RFC822`: the message or its prefix.
    pub message: Option<Cow<'a, [u8]>>,
    /// `BODY[HEADER]` or `RFC822.HEADER`.
    pub header: Option<Cow<'a, [u8]>>,
    /// `BODY[TEXT]` (with or without an origin) or `RFC822.TEXT`.
    pub text: Option<Cow<'a, [u8]>>,
}

/// Reads responses from a connection into one reused buffer.
pub struct Wire {
    buf: Vec<u8>,
    /// Start of the bytes not yet returned.
    start: usize,
    /// End of the bytes read.
    end: usize,
    /// How far (from `start`) the response being framed has been scanned, past the end of the
    /// bytes read while a literal it announces is still coming: framing resumes there.
    scanned: usize,
}

impl Default for Wire {
    fn default() -> Self {
        Wire::new()
    }
}

impl Wire {
    pub fn new() -> Self {
        Wire {
            buf: vec![0; INITIAL_BYTES],
            start: 0,
            end: 0,
            scanned: 0,
        }
    }

    /// Whether bytes were read that no response returned yet holds.
    pub fn has_unread(&self) -> bool {
        self.end > self.start
    }

    /// Reads the next response, which must have come whole within `idle`. The response borrows
    /// the buffer until the next call.
    pub async fn next<R>(&mut self, io: &mut R, idle: Duration) -> Result<Response<'_>, WireError>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        // One deadline for the whole response: a server that trickles a byte at a time does not
        // hold a sync forever.
        let deadline = tokio::time::Instant::now() + idle;
        let len = loop {
            if let Some(len) = self.frame()? {
                break len;
            }
            self.make_room()?;
            let read = tokio::time::timeout_at(deadline, io.read(&mut self.buf[self.end..]))
                .await
                .map_err(|_| WireError::TimedOut(idle))??;
            if read == 0 {
                return Err(WireError::Closed);
            }
            self.end += read;
        };
        self.take(len)
    }

    /// The next response if it has already been read whole; nothing is read.
    pub fn next_buffered(&mut self) -> Result<Option<Response<'_>>, WireError> {
        match self.frame()? {
            Some(len) => self.take(len).map(Some),
            None => Ok(None),
        }
    }

    /// Parses the framed response of `len` bytes at `start` and moves past it.
    fn take(&mut self, len: usize) -> Result<Response<'_>, WireError> {
        let at = self.start;
        self.start += len;
        self.scanned = 0;
        parse(&self.buf[at..at + len])
    }

    /// The length of the complete response at `start`, if it has all been read. A response is
    /// a line; a line ending in a literal's announcement (`{n}`, `{n+}`, `~{n}`) goes on after
    /// the literal's n bytes. Framing resumes where the last call stopped.
    fn frame(&mut self) -> Result<Option<usize>, WireError> {
        loop {
            let from = self.start + self.scanned;
            if from > self.end {
                // Inside a literal that has not all been read.
                return Ok(None);
            }
            let Some(newline) = memchr::memchr(b'\n', &self.buf[from..self.end]) else {
                self.scanned = self.end - self.start;
                return Ok(None);
            };
            let line_end = from + newline;
            let line = &self.buf[self.start..line_end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let so_far = line_end + 1 - self.start;
            match literal_announced(line) {
                Some(n) if n > MAX_RESPONSE_BYTES.saturating_sub(so_far) => {
                    return Err(too_large());
                }
                Some(n) => self.scanned = so_far + n,
                None => return Ok(Some(so_far)),
            }
        }
    }

    /// Makes room to read into: at least [`MIN_READ_BYTES`] past the unread bytes, and room for
    /// the whole of a literal being read. Unread bytes move to the front when the tail is too
    /// short; the buffer grows for a larger response and shrinks back once it is done.
    fn make_room(&mut self) -> Result<(), WireError> {
        let unread = self.end - self.start;
        if unread == 0 {
            (self.start, self.end) = (0, 0);
            if self.buf.len() > INITIAL_BYTES {
                self.buf.truncate(INITIAL_BYTES);
                self.buf.shrink_to_fit();
            }
        }
        if unread >= MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        let needed = (self.scanned + 1).max(unread + MIN_READ_BYTES);
        if self.start + needed > self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            (self.start, self.end) = (0, unread);
        }
        if needed > self.buf.len() {
            let grown = needed
                .max(self.buf.len() * 2)
                .min(MAX_RESPONSE_BYTES + MIN_READ_BYTES);
            self.buf.resize(grown, 0);
        }
        Ok(())
    }
}

fn too_large() -> WireError {
    WireError::Protocol(format!(
        "a response of more than {MAX_RESPONSE_BYTES} bytes"
    ))
}

/// The size a line's trailing literal announcement gives, if it ends in one.
fn literal_announced(line: &[u8]) -> Option<usize> {
    let inner = line.strip_suffix(b"}")?;
    let open = memchr::memrchr(b'{', inner)?;
    let digits = &inner[open + 1..];
    let digits = digits.strip_suffix(b"+").unwrap_or(digits);
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Parses one framed response (its final line break included).
fn parse(response: &[u8]) -> Result<Response<'_>, WireError> {
    let mut p = Parser {
        input: response,
        at: 0,
    };
    if p.eat(b"*") {
        p.spaces();
        if p.digits() == 0 {
            if p.eat_word_ci(b"BYE") {
                let text = String::from_utf8_lossy(p.rest_of_line()).trim().to_owned();
                return Err(WireError::Bye(text));
            }
            return Ok(Response::Other);
        }
        // Liberal about what surrounds the word: an answer that says FETCH is read as one, and
        // an error if it cannot be, never dropped as some other answer (its UID would be passed
        // over in silence).
        p.spaces();
        if !p.eat_ci(b"FETCH") {
            return Ok(Response::Other);
        }
        p.spaces();
        p.fetch()
            .map(Response::Fetch)
            .map_err(|why| WireError::Protocol(format!("a FETCH answer {why}")))
    } else if p.eat(b"+") {
        Ok(Response::Other)
    } else {
        let tag = p.atom();
        let tag = std::str::from_utf8(tag).unwrap_or("");
        if tag.is_empty() || !p.eat(b" ") {
            return Err(WireError::Protocol(format!(
                "a response that is neither untagged nor tagged: {:?}",
                String::from_utf8_lossy(&response[..response.len().min(200)])
            )));
        }
        let status = if p.eat_word_ci(b"OK") {
            Status::Ok
        } else if p.eat_word_ci(b"NO") {
            Status::No
        } else if p.eat_word_ci(b"BAD") {
            Status::Bad
        } else {
            return Err(WireError::Protocol(format!(
                "a tagged response without OK, NO or BAD: {:?}",
                String::from_utf8_lossy(&response[..response.len().min(200)])
            )));
        };
        let text = String::from_utf8_lossy(p.rest_of_line());
        let text = match text {
            Cow::Borrowed(t) => Cow::Borrowed(t.trim()),
            Cow::Owned(t) => Cow::Owned(t.trim().to_owned()),
        };
        Ok(Response::Done { tag, status, text })
    }
}

/// A cursor over one framed response.
struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

/// Deepest nesting of parenthesised lists skipped in a FETCH answer.
const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.at += 1;
        }
    }

    /// Skips a run of digits, returning how many there were.
    fn digits(&mut self) -> usize {
        let n = self.input[self.at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        self.at += n;
        n
    }

    /// `word`, case-insensitively, whatever follows it.
    fn eat_ci(&mut self, word: &[u8]) -> bool {
        let rest = &self.input[self.at..];
        if rest.len() >= word.len() && rest[..word.len()].eq_ignore_ascii_case(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    /// A LITERAL8 marker (`~{`) or a literal (`{`) starts here.
    fn at_literal(&self) -> bool {
        let rest = &self.input[self.at..];
        rest.starts_with(b"{") || rest.starts_with(b"~{")
    }

    fn eat(&mut self, expected: &[u8]) -> bool {
        if self.input[self.at..].starts_with(expected) {
            self.at += expected.len();
            true
        } else {
            false
        }
    }

    /// `word`, case-insensitively, followed by a space, a line end or nothing (the space is
    /// eaten).
    fn eat_word_ci(&mut self, word: &[u8]) -> bool {
        let rest = &self.input[self.at..];
        if rest.len() < word.len() || !rest[..word.len()].eq_ignore_ascii_case(word) {
            return false;
        }
        match rest.get(word.len()) {
            None | Some(b'\r' | b'\n') => self.at += word.len(),
            Some(b' ') => self.at += word.len() + 1,
            Some(_) => return false,
        }
        true
    }

    fn number(&mut self) -> Option<u32> {
        let from = self.at;
        let n = self.digits();
        let value = std::str::from_utf8(&self.input[from..from + n])
            .ok()?
            .parse()
            .ok();
        if value.is_none() {
            self.at = from;
        }
        value
    }

    /// Bytes up to a space, a parenthesis or the line end.
    fn atom(&mut self) -> &'a [u8] {
        let from = self.at;
        while let Some(b) = self.peek() {
            if matches!(b, b' ' | b'(' | b')' | b'\r' | b'\n') {
                break;
            }
            self.at += 1;
        }
        &self.input[from..self.at]
    }

    fn rest_of_line(&mut self) -> &'a [u8] {
        let rest = &self.input[self.at..];
        self.at = self.input.len();
        rest.strip_suffix(b"\n")
            .map(|r| r.strip_suffix(b"\r").unwrap_or(r))
            .unwrap_or(rest)
    }

    /// `(name value name value ...)` after `n FETCH `.
    fn fetch(&mut self) -> Result<Fetch<'a>, String> {
        if !self.eat(b"(") {
            return Err("without its attribute list".to_owned());
        }
        let mut fetch = Fetch::default();
        loop {
            while self.eat(b" ") {}
            match self.peek() {
                Some(b')') => {
                    self.at += 1;
                    return Ok(fetch);
                }
                None | Some(b'\r' | b'\n') => return Err("that ends inside its list".to_owned()),
                _ => {}
            }
            let name = self.attribute_name();
            if name.is_empty() || !self.eat(b" ") {
                return Err(format!(
                    "with an attribute without a value after {:?}",
                    String::from_utf8_lossy(name)
                ));
            }
            match Attribute::of(name) {
                Attribute::Uid => {
                    fetch.uid = Some(self.number().ok_or("with a UID that is not a number")?);
                }
                Attribute::InternalDate => {
                    let value = self.nstring()?;
                    fetch.internal_date = value.as_deref().and_then(internal_date);
                }
                Attribute::Message => fetch.message = self.nstring()?,
                Attribute::Header => fetch.header = self.nstring()?,
                Attribute::Text => fetch.text = self.nstring()?,
                Attribute::Other => self.skip_value()?,
            }
        }
    }

    /// An attribute name: up to a space outside brackets (`BODY[HEADER.FIELDS (A B)]<0>`).
    fn attribute_name(&mut self) -> &'a [u8] {
        let from = self.at;
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            match b {
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b' ' | b')' | b'(' if depth == 0 => break,
                b'\r' | b'\n' => break,
                _ => {}
            }
            self.at += 1;
        }
        &self.input[from..self.at]
    }

    /// NIL, a quoted string or a literal.
    fn nstring(&mut self) -> Result<Option<Cow<'a, [u8]>>, String> {
        match self.peek() {
            Some(b'"') => self.quoted().map(Some),
            Some(b'{' | b'~') if self.at_literal() => {
                self.literal().map(|l| Some(Cow::Borrowed(l)))
            }
            _ => {
                let atom = self.atom();
                if atom.eq_ignore_ascii_case(b"NIL") {
                    Ok(None)
                } else {
                    Err(format!(
                        "with {:?} where a string was expected",
                        String::from_utf8_lossy(atom)
                    ))
                }
            }
        }
    }

    fn quoted(&mut self) -> Result<Cow<'a, [u8]>, String> {
        self.at += 1; // the opening quote
        let from = self.at;
        let mut escaped = false;
        while let Some(b) = self.peek() {
            match b {
                b'"' => {
                    let raw = &self.input[from..self.at];
                    self.at += 1;
                    if !escaped {
                        return Ok(Cow::Borrowed(raw));
                    }
                    let mut out = Vec::with_capacity(raw.len());
                    let mut bytes = raw.iter();
                    while let Some(&c) = bytes.next() {
                        out.push(if c == b'\\' {
                            *bytes.next().unwrap_or(&c)
                        } else {
                            c
                        });
                    }
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    escaped = true;
                    self.at = (self.at + 2).min(self.input.len());
                }
                b'\r' | b'\n' => break,
                _ => self.at += 1,
            }
        }
        Err("with a quoted string that does not end".to_owned())
    }

    /// `{n}` (or `{n+}`, `~{n}`), the line break, then n bytes.
    fn literal(&mut self) -> Result<&'a [u8], String> {
        self.eat(b"~");
        let rest = &self.input[self.at..];
        let newline = memchr::memchr(b'\n', rest).ok_or("with a literal that does not end")?;
        let line = &rest[..newline];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let n = literal_announced(line)
            .filter(|_| line.first() == Some(&b'{'))
            .ok_or("with a malformed literal")?;
        let from = self.at + newline + 1;
        let data = self
            .input
            .get(from..from.saturating_add(n))
            .ok_or("with a literal longer than the answer")?;
        self.at = from + n;
        Ok(data)
    }

    /// Any value: an atom or number, a string, or a parenthesised list of values.
    fn skip_value(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Some(b'(') => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Err("nested too deep".to_owned());
                    }
                    self.at += 1;
                    continue;
                }
                Some(b')') if depth > 0 => {
                    self.at += 1;
                    depth -= 1;
                }
                Some(b' ') if depth > 0 => {
                    self.at += 1;
                    continue;
                }
                Some(b'"') => {
                    self.quoted()?;
                }
                Some(b'{' | b'~') if self.at_literal() => {
                    self.literal()?;
                }
                None | Some(b'\r' | b'\n') => return Err("that ends inside a value".to_owned()),
                _ => {
                    if self.atom().is_empty() {
                        return Err("with an empty value".to_owned());
                    }
                }
            }
            if depth == 0 {
                return Ok(());
            }
        }
    }
}

/// What a FETCH attribute is to a sync.
enum Attribute {
    Uid,
    InternalDate,
    Message,
    Header,
    Text,
    Other,
}

impl Attribute {
    fn of(name: &[u8]) -> Attribute {
        // A section's origin (`<0>`) does not change what the data is.
        let section = match memchr::memchr(b'<', name) {
            Some(origin) if name.ends_with(b">") => &name[..origin],
            _ => name,
        };
        let is = |s: &[u8]| section.eq_ignore_ascii_case(s);
        if is(b"UID") {
            Attribute::Uid
        } else if is(b"INTERNALDATE") {
            Attribute::InternalDate
        } else if is(b"BODY[]") || is(b"RFC822") || is(b"BINARY[]") {
            Attribute::Message
        } else if is(b"BODY[HEADER]") || is(b"RFC822.HEADER") {
            Attribute::Header
        } else if is(b"BODY[TEXT]") || is(b"RFC822.TEXT") {
            Attribute::Text
        } else {
            Attribute::Other
        }
    }
}

/// An IMAP date-time (`"17-Jul-1996 02:44:25 -0700"`, the day possibly space-padded).
pub fn internal_date(value: &[u8]) -> Option<jiff::Timestamp> {
    let value = std::str::from_utf8(value).ok()?.trim_start();
    let (date, rest) = value.split_once(' ')?;
    let (time, zone) = rest.trim_start().split_once(' ')?;
    let zone = zone.trim();
    let mut date = date.splitn(3, '-');
    let day: i8 = parse_digits(date.next()?, 1, 2)?;
    let month = date.next()?;
    let year: i16 = parse_digits(date.next()?, 4, 4)?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as i8 + 1;
    let mut time = time.splitn(3, ':');
    let hour: i8 = parse_digits(time.next()?, 1, 2)?;
    let minute: i8 = parse_digits(time.next()?, 1, 2)?;
    // A leap second is read as the second before it.
    let second = parse_digits::<i8>(time.next()?, 1, 2)?.min(59);
    let (sign, digits) = match zone.as_bytes().first()? {
        b'+' => (1, &zone[1..]),
        b'-' => (-1, &zone[1..]),
        _ => return None,
    };
    // `+0700`, or `+07:00` as some servers write it.
    let digits = match digits.split_once(':') {
        Some((h, m)) if h.len() == 2 => format!("{h}{m}"),
        _ => digits.to_owned(),
    };
    let hhmm: i32 = parse_digits(&digits, 4, 4)?;
    let (zh, zm) = (hhmm / 100, hhmm % 100);
    if zh > 23 || zm > 59 {
        return None;
    }
    let offset = jiff::tz::Offset::from_seconds(sign * (zh * 3600 + zm * 60)).ok()?;
    let civil = jiff::civil::DateTime::new(year, month, day, hour, minute, second, 0).ok()?;
    offset.to_timestamp(civil).ok()
}

fn parse_digits<T: std::str::FromStr>(s: &str, min: usize, max: usize) -> Option<T> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(5);

    /// Reads `input` handed over `chunk` bytes per read, collecting each response's summary.
    fn read_all(input: &[u8], chunk: usize) -> Vec<String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut builder = tokio_test_reader(input, chunk);
            let mut wire = Wire::new();
            let mut out = Vec::new();
            loop {
                match wire.next(&mut builder, IDLE).await {
                    Ok(response) => out.push(summary(&response)),
                    Err(WireError::Closed) => break,
                    Err(e) => {
                        out.push(format!("error: {e}"));
                        break;
                    }
                }
            }
            out
        })
    }

    /// An in-memory reader that hands out at most `chunk` bytes per read.
    fn tokio_test_reader(input: &[u8], chunk: usize) -> Chunked {
        Chunked {
            data: input.to_vec(),
            at: 0,
            chunk,
        }
    }

    struct Chunked {
        data: Vec<u8>,
        at: usize,
        chunk: usize,
    }

    impl AsyncRead for Chunked {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let n = self
                .chunk
                .min(buf.remaining())
                .min(self.data.len() - self.at);
            let at = self.at;
            buf.put_slice(&self.data[at..at + n]);
            self.at += n;
            std::task::Poll::Ready(Ok(()))
        }
    }

    fn summary(response: &Response<'_>) -> String {
        let s = |b: &Option<Cow<'_, [u8]>>| match b {
            Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
            None => "-".to_owned(),
        };
        match response {
            Response::Fetch(f) => format!(
                "fetch uid={:?} date={:?} message={} header={} text={}",
                f.uid,
                f.internal_date.map(|d| d.as_second()),
                s(&f.message),
                s(&f.header),
                s(&f.text)
            ),
            Response::Done { tag, status, text } => format!("done {tag} {status:?} {text}"),
            Response::Other => "other".to_owned(),
        }
    }

    #[test]
    fn answers_are_framed_the_same_whatever_the_reads() {
        let input = b"* 1 FETCH (UID 7 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" BODY[]<0> {12}\r\nSubject: a\r\n)\r\n\
* 3 EXISTS\r\n\
* 2 FETCH (FLAGS (\\Seen) UID 8 BODY[]<0> \"Subject: \\\"q\\\"\")\r\n\
* 3 FETCH (UID 9 BODY[HEADER] {3}\r\nH\r\n BODY[TEXT]<0> {0}\r\n)\r\n\
* OK [HIGHESTMODSEQ 5] {2}\r\nxy\r\n\
A0001 OK Fetch completed (0.001 + 0.000 secs).\r\n";
        let expected = vec![
            "fetch uid=Some(7) date=Some(837596665) message=\"Subject: a\\r\\n\" header=- text=-",
            "other",
            "fetch uid=Some(8) date=None message=\"Subject: \\\"q\\\"\" header=- text=-",
            "fetch uid=Some(9) date=None message=- header=\"H\\r\\n\" text=\"\"",
            "other",
            "done A0001 Ok Fetch completed (0.001 + 0.000 secs).",
        ];
        for chunk in [1, 2, 3, 5, 7, 13, 64, 4096] {
            assert_eq!(read_all(input, chunk), expected, "reads of {chunk} bytes");
        }
    }

    #[test]
    fn a_literal_that_looks_like_responses_is_data() {
        let body = b"x\r\nA0001 OK fake\r\n* 9 FETCH (UID 1)\r\n{5}\r\n";
        let mut input = format!("* 1 FETCH (UID 2 RFC822 {{{}}}\r\n", body.len()).into_bytes();
        input.extend_from_slice(body);
        input.extend_from_slice(b" uid 2)\r\nA0001 NO [SERVERBUG] oops\r\n");
        let expected = vec![
            format!(
                "fetch uid=Some(2) date=None message={:?} header=- text=-",
                String::from_utf8_lossy(body)
            ),
            "done A0001 No [SERVERBUG] oops".to_owned(),
        ];
        for chunk in [1, 4, 17, 4096] {
            assert_eq!(read_all(&input, chunk), expected, "reads of {chunk} bytes");
        }
    }

    #[test]
    fn names_and_nil_are_read_case_insensitively_and_unknown_attributes_skipped() {
        let input = b"* 4 fetch (x-gm-labels (\"\\\\Inbox\" (a (b)) {1}\r\nz) uid 12 \
body[header.fields (from to)] {2}\r\nab \
internaldate \" 1-Feb-2020 10:00:00 +0000\" body[]<0> NIL MODSEQ (3) BODYSTRUCTURE (\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1))\r\n";
        assert_eq!(
            read_all(input, 3),
            vec!["fetch uid=Some(12) date=Some(1580551200) message=- header=- text=-"]
        );
    }

    #[test]
    fn an_answer_that_says_fetch_is_read_as_one_however_it_is_spaced() {
        let input = b"* 1 FETCH(UID 5 BODY[] {1}\r\nx)\r\n\
*  2  fetch  (UID 6 FLAGS (~x \\Seen))\r\n\
* 0 FETCH (UID 7)\r\n\
* 4294967296 FETCH (UID 8)\r\n";
        assert_eq!(
            read_all(input, 3),
            vec![
                "fetch uid=Some(5) date=None message=\"x\" header=- text=-",
                "fetch uid=Some(6) date=None message=- header=- text=-",
                "fetch uid=Some(7) date=None message=- header=- text=-",
                "fetch uid=Some(8) date=None message=- header=- text=-",
            ]
        );
        // Said FETCH but cannot be read as one: an error, never another kind of answer.
        let out = read_all(b"* 3 FETCH UID 9\r\n", 3);
        assert!(out[0].starts_with("error: unreadable answer"), "{out:?}");
    }

    #[test]
    fn bye_and_broken_answers_are_errors_and_a_cut_answer_is_a_closed_connection() {
        assert_eq!(
            read_all(b"* BYE Server shutting down.\r\n", 4),
            vec!["error: the server closed the connection: Server shutting down."]
        );
        for broken in [
            &b"* 1 FETCH (UID x)\r\n"[..],
            b"* 1 FETCH (UID 1 BODY[] \"open)\r\n",
            b"* 1 FETCH UID 1\r\n",
            b"* 1 FETCH (UID 1\r\n",
            b"* 1 FETCH (UID 1 BODY[] word)\r\n",
            b"A1 MAYBE\r\n",
            b"\r\n",
        ] {
            let out = read_all(broken, 2);
            assert!(
                out.len() == 1 && out[0].starts_with("error: unreadable answer"),
                "{:?}: {out:?}",
                String::from_utf8_lossy(broken)
            );
        }
        // The connection closes inside an answer: no answer, the end is reported.
        for cut in [
            &b"* 1 FETCH (UID 1 BODY[] {50}\r\nab"[..],
            b"* 1 FETCH (UID 1 BODY[] {9}\r\nab)\r\n",
        ] {
            assert_eq!(read_all(cut, 7), Vec::<String>::new());
        }
    }

    #[test]
    fn a_large_answer_grows_the_buffer_and_it_shrinks_back() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        runtime.block_on(async {
            let big = vec![b'a'; 3 * INITIAL_BYTES + 5];
            let mut input = format!("* 1 FETCH (UID 1 BODY[] {{{}}}\r\n", big.len()).into_bytes();
            input.extend_from_slice(&big);
            input.extend_from_slice(b")\r\n* 2 FETCH (UID 2 BODY[] {1}\r\nb)\r\nT OK\r\n");
            let mut reader = tokio_test_reader(&input, 10_000);
            let mut wire = Wire::new();
            match wire.next(&mut reader, IDLE).await.unwrap() {
                Response::Fetch(f) => assert_eq!(f.message.unwrap().len(), big.len()),
                other => panic!("{other:?}"),
            }
            assert!(wire.buf.len() > INITIAL_BYTES);
            match wire.next(&mut reader, IDLE).await.unwrap() {
                Response::Fetch(f) => assert_eq!(f.uid, Some(2)),
                other => panic!("{other:?}"),
            }
            assert!(matches!(
                wire.next(&mut reader, IDLE).await.unwrap(),
                Response::Done { .. }
            ));
            assert!(!wire.has_unread());
            assert!(matches!(
                wire.next(&mut reader, IDLE).await,
                Err(WireError::Closed)
            ));
            assert_eq!(wire.buf.len(), INITIAL_BYTES);
        });
    }

    #[test]
    fn an_announced_literal_past_the_limit_is_refused_before_it_is_read() {
        let input = format!("* 1 FETCH (UID 1 BODY[] {{{}}}\r\n", MAX_RESPONSE_BYTES);
        let out = read_all(input.as_bytes(), 4096);
        assert_eq!(out.len(), 1);
        assert!(out[0].contains("more than"), "{out:?}");
    }

    #[test]
    fn internal_dates_are_read_like_rfc_3501_writes_them() {
        let ts = |s: &str| internal_date(s.as_bytes()).map(|t| t.as_second());
        assert_eq!(ts("17-Jul-1996 02:44:25 -0700"), Some(837596665));
        assert_eq!(ts(" 1-Jan-2000 00:00:00 +0000"), Some(946684800));
        assert_eq!(ts("01-jan-2000 01:30:00 +0130"), Some(946684800));
        // Leniencies chrono had: two spaces before the zone, a colon in it, a leap second.
        assert_eq!(ts("17-Jul-1996 02:44:25  -0700"), Some(837596665));
        assert_eq!(ts("17-Jul-1996 02:44:25 -07:00"), Some(837596665));
        assert_eq!(ts("31-Dec-2016 23:59:60 +0000"), Some(1483228799));
        for bad in [
            "",
            "32-Jan-2000 00:00:00 +0000",
            "1-Foo-2000 00:00:00 +0000",
            "1-Jan-2000 24:00:00 +0000",
            "1-Jan-2000 00:00:00 0000",
            "1-Jan-2000 00:00:00 +2400",
            "1-Jan-20000 00:00:00 +0000",
            "1-Jan-2000 00:00 +0000",
        ] {
            assert_eq!(ts(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn no_input_makes_the_reader_panic() {
        // Every prefix and every one-byte corruption of a valid exchange: errors, never panics.
        let valid: &[u8] = b"* 1 FETCH (UID 7 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" BODY[]<0> {12}\r\nSubject: a\r\n FLAGS (\\Seen (x)) BODY[TEXT] \"a\\\\b\")\r\nA1 OK done\r\n";
        for cut in 0..valid.len() {
            read_all(&valid[..cut], 5);
        }
        for at in 0..valid.len() {
            for byte in [
                b'{', b'}', b'(', b')', b'"', b'\\', b'\r', b'\n', b' ', b'~', b'9', 0, 0xff,
            ] {
                let mut input = valid.to_vec();
                input[at] = byte;
                read_all(&input, 3);
            }
        }
    }
}
