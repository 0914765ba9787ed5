//! The To, Cc and Reply-To addresses of a message, kept in its own row (`messages.recipients`).
//!
//! One line per distinct (field, address): `field TAB address TAB name LF`, sorted by field then
//! address, the first display name kept. A backslash, TAB, CR or LF inside an address or a name
//! is escaped (`\\`, `\t`, `\r`, `\n`), so every value reads back exactly as written. The
//! address of a search (`candor candidate forget`) is matched as `TAB address TAB`.
//!
//! A first sync of 100k messages wrote about 215k rows into a separate address table and its
//! index, a third of the store's time (issue 4); one column of the row it already writes costs
//! next to nothing.

use std::borrow::Cow;

use crate::mail;

/// A header field that carries recipients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Field {
    Cc,
    ReplyTo,
    To,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::Cc => "cc",
            Field::ReplyTo => "reply_to",
            Field::To => "to",
        }
    }

    fn parse(text: &str) -> Option<Field> {
        match text {
            "cc" => Some(Field::Cc),
            "reply_to" => Some(Field::ReplyTo),
            "to" => Some(Field::To),
            _ => None,
        }
    }
}

/// One stored recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient<'a> {
    pub field: Field,
    pub address: Cow<'a, str>,
    /// Empty when the header gave none.
    pub name: Cow<'a, str>,
}

/// The text stored for a message's To, Cc and Reply-To.
pub fn encode(to: &[mail::Address], cc: &[mail::Address], reply_to: &[mail::Address]) -> String {
    let mut text = String::new();
    encode_into(&mut text, to, cc, reply_to);
    text
}

/// [`encode`] into `text`, which is cleared first: the ingest reuses one buffer.
pub fn encode_into(
    text: &mut String,
    to: &[mail::Address],
    cc: &[mail::Address],
    reply_to: &[mail::Address],
) {
    text.clear();
    let count = to.len() + cc.len() + reply_to.len();
    if count == 0 {
        return;
    }
    let mut entries: Vec<(Field, &str, &str)> = Vec::with_capacity(count);
    for (field, addresses) in [(Field::To, to), (Field::Cc, cc), (Field::ReplyTo, reply_to)] {
        for address in addresses {
            entries.push((
                field,
                &address.address,
                address.name.as_deref().unwrap_or_default(),
            ));
        }
    }
    // Stable: of two equal (field, address) pairs the first one's name stays.
    entries.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    entries.dedup_by(|later, earlier| (later.0, later.1) == (earlier.0, earlier.1));
    for (field, address, name) in entries {
        text.push_str(field.as_str());
        text.push('\t');
        push_escaped(text, address);
        text.push('\t');
        push_escaped(text, name);
        text.push('\n');
    }
}

/// The recipients of a stored `text`, in stored order; a malformed line is passed over.
pub fn decode(text: &str) -> impl Iterator<Item = Recipient<'_>> {
    text.lines().filter_map(|line| {
        let mut parts = line.splitn(3, '\t');
        let field = Field::parse(parts.next()?)?;
        let address = unescape(parts.next()?);
        let name = unescape(parts.next().unwrap_or_default());
        Some(Recipient {
            field,
            address,
            name,
        })
    })
}

/// The pattern that finds `address` in a stored text with SQL `instr`.
pub fn search_pattern(address: &str) -> String {
    let mut pattern = String::from("\t");
    push_escaped(&mut pattern, address);
    pattern.push('\t');
    pattern
}

/// Appends `text` with backslash, TAB, CR and LF escaped.
fn push_escaped(out: &mut String, text: &str) {
    // Byte by byte: the four are ASCII, and a `[char; 4]` pattern was most of the cost.
    if !text
        .bytes()
        .any(|b| matches!(b, b'\\' | b'\t' | b'\r' | b'\n'))
    {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// The value of an escaped `text` ([`push_escaped`]); an unknown escape keeps its character.
fn unescape(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(address: &str, name: Option<&str>) -> mail::Address {
        mail::Address {
            address: address.to_owned(),
            name: name.map(str::to_owned),
        }
    }

    #[test]
    fn fields_come_back_sorted_without_duplicates_and_the_first_name_stays() {
        let to = [
            address("zoe@x.example", Some("Zoe")),
            address("ann@x.example", None),
            address("zoe@x.example", Some("Zoe Again")),
        ];
        let cc = [address("bob@x.example", Some("Bob B"))];
        let reply_to = [address("zoe@x.example", None)];
        let text = encode(&to, &cc, &reply_to);
        let back: Vec<_> = decode(&text).collect();
        let expect = [
            (Field::Cc, "bob@x.example", "Bob B"),
            (Field::ReplyTo, "zoe@x.example", ""),
            (Field::To, "ann@x.example", ""),
            (Field::To, "zoe@x.example", "Zoe"),
        ];
        assert_eq!(back.len(), expect.len(), "{text:?}");
        for (got, (field, address, name)) in back.iter().zip(expect) {
            assert_eq!(
                (got.field, &*got.address, &*got.name),
                (field, address, name)
            );
        }
        assert!(text.contains(&search_pattern("ann@x.example")));
        assert!(!text.contains(&search_pattern("ann@x.exampl")));
    }

    #[test]
    fn separators_and_backslashes_inside_values_read_back_exactly() {
        let raw = "\"a\tb\\c\"@x.example";
        let to = [address(raw, Some("Line\none\ttab\r \\n"))];
        let text = encode(&to, &[], &[]);
        assert_eq!(text.lines().count(), 1, "{text:?}");
        let back: Vec<_> = decode(&text).collect();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].address, raw);
        assert_eq!(back[0].name, "Line\none\ttab\r \\n");
        assert!(text.contains(&search_pattern(raw)));
        assert!(!text.contains(&search_pattern("\"a b\\c\"@x.example")));
    }

    #[test]
    fn no_recipients_store_nothing_and_bad_lines_are_passed_over() {
        assert_eq!(encode(&[], &[], &[]), "");
        let back: Vec<_> = decode("bcc\tx@y\t\nto\tok@y\t\ngarbage\n").collect();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].address, "ok@y");
    }
}
