//! What a bounce says: the bounced recipients, the DSN status and whether it is final.
//!
//! RFC 3464 fields first (Final-Recipient and Original-Recipient; Status; Action), then, for
//! the many MTAs that send plain-text failure notices, a best-effort reading of the text.

use super::classify::{self, Facts};
use super::headers;
use super::{Bounce, BounceKind};

/// The recipients, status and kind of a message already known to be a bounce.
pub fn details(facts: &Facts<'_>) -> Bounce {
    let mut fields = DsnFields::default();
    for part in classify::delivery_status_parts(facts.parsed) {
        fields.read(&part);
    }
    if fields.final_recipients.is_empty() && fields.original_recipients.is_empty() {
        // Truncated or oddly nested DSNs: the fields may still be in the raw body.
        let (_, body) = headers::split_header_body(facts.raw);
        fields.read(&headers::lossy(body));
    }
    let notice = notice_text(facts.text);
    // Where the MTA tried, then the addresses the owner wrote to where they differ: through a
    // forwarding address (an alumni or vanity domain) only the latter is the candidate's
    // (found in review: the candidate was never bounced, and every follow-up bounced again).
    let mut recipients = fields.final_recipients;
    for original in fields.original_recipients {
        push_unique(&mut recipients, Some(original));
    }
    if recipients.is_empty() {
        recipients = addresses_in_notice(notice, facts);
    }
    if recipients.is_empty() {
        recipients = returned_message_recipients(facts);
    }
    let status = fields.status.or_else(|| enhanced_status_in(notice));
    let kind = match status.as_deref().and_then(|s| s.chars().next()) {
        Some('4') => BounceKind::Soft,
        Some('5') => BounceKind::Hard,
        _ if fields.delayed || reads_as_delay(notice) || reads_as_delay(facts.subject) => {
            BounceKind::Soft
        }
        _ => BounceKind::Hard,
    };
    Bounce {
        kind,
        recipients,
        status,
    }
}

#[derive(Default)]
struct DsnFields {
    final_recipients: Vec<String>,
    original_recipients: Vec<String>,
    status: Option<String>,
    delayed: bool,
}

impl DsnFields {
    /// Reads the RFC 3464 §2.3 per-recipient fields from a delivery-status body. A recipient
    /// block (fields up to an empty line) whose Action is a success (`delivered`, `relayed`,
    /// `expanded`) names no bounced recipient: a report may cover several recipients, and one
    /// that asked for success notices names the delivered ones too (found in review: a
    /// candidate whose mail arrived was bounced with the one whose mail failed).
    fn read(&mut self, text: &str) {
        let mut block = RecipientBlock::default();
        for line in text.lines() {
            if line.trim().is_empty() {
                self.end_block(std::mem::take(&mut block));
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim();
            if name.eq_ignore_ascii_case("Final-Recipient") {
                // A block without the empty line before it (a sloppy MTA): a new one all the same.
                if !block.final_recipients.is_empty() {
                    self.end_block(std::mem::take(&mut block));
                }
                push_unique(&mut block.final_recipients, recipient_of(value));
            } else if name.eq_ignore_ascii_case("Original-Recipient") {
                push_unique(&mut block.original_recipients, recipient_of(value));
            } else if name.eq_ignore_ascii_case("Status") {
                let code = enhanced_status_in(value);
                // The worst status wins: a 5.x.x anywhere makes the bounce hard.
                match (&self.status, code) {
                    (None, Some(code)) => self.status = Some(code),
                    (Some(old), Some(code)) if old.starts_with('4') && code.starts_with('5') => {
                        self.status = Some(code)
                    }
                    _ => {}
                }
            } else if name.eq_ignore_ascii_case("Action") {
                self.delayed |= action_of(value).eq_ignore_ascii_case("delayed");
                block.delivered = is_success_action(value);
            }
        }
        self.end_block(block);
    }

    fn end_block(&mut self, block: RecipientBlock) {
        if block.delivered {
            return;
        }
        for address in block.final_recipients {
            push_unique(&mut self.final_recipients, Some(address));
        }
        for address in block.original_recipients {
            push_unique(&mut self.original_recipients, Some(address));
        }
    }
}

/// The recipients of one per-recipient block of a delivery-status body, and whether its Action
/// says the message got there.
#[derive(Default)]
struct RecipientBlock {
    final_recipients: Vec<String>,
    original_recipients: Vec<String>,
    delivered: bool,
}

/// An Action field's value without its comment: "relayed (to a non-DSN MTA)" is `relayed`.
fn action_of(value: &str) -> &str {
    value.split('(').next().unwrap_or("").trim()
}

/// Whether an Action field's value says the message got there (RFC 3464 §2.3.3: `delivered`,
/// `relayed`, `expanded`).
pub(super) fn is_success_action(value: &str) -> bool {
    let action = action_of(value);
    ["delivered", "relayed", "expanded"]
        .iter()
        .any(|success| action.eq_ignore_ascii_case(success))
}

fn push_unique(list: &mut Vec<String>, address: Option<String>) {
    if let Some(address) = address
        && !list.contains(&address)
    {
        list.push(address);
    }
}

/// `rfc822; user@host`, `RFC822;<User@Host>`, `user@host (comment)`, ... → `user@host`.
pub fn recipient_of(value: &str) -> Option<String> {
    let value = value.split_once(';').map_or(value, |(_, address)| address);
    let token = value
        .split(|c: char| c.is_whitespace() || c == '(')
        .find(|t| !t.is_empty())?;
    let address = token
        .trim_matches(|c: char| matches!(c, '<' | '>' | '"' | '\'' | ',' | ';'))
        .to_lowercase();
    let address = address
        .strip_prefix("mailto:")
        .map(str::to_string)
        .unwrap_or(address);
    let (local, domain) = address.rsplit_once('@')?;
    (!local.is_empty() && (domain.contains('.') || domain == "localhost")).then_some(address)
}

/// The part of a plain-text failure notice before the returned original message.
fn notice_text(text: &str) -> &str {
    const MARKERS: &[&str] = &[
        "this is a copy of the message",
        "original message follows",
        "below this line is a copy of the message",
        "copy of the original message",
        "original message headers",
        "header of the original message",
        "headers of the original message",
        "returned message",
        "----- original message",
        "------ original message",
        "unsent message below",
        "content-type: message/rfc822",
    ];
    // ASCII lowercasing keeps every byte where it was, so an offset in `lower` is one in `text`.
    // (Full lowercasing does not: the Ohm sign shrinks and "İ" grows, and equal total lengths
    // once let a crafted notice cut `text` inside a character, a panic found in review.)
    let lower = text.to_ascii_lowercase();
    let mut end = text.len();
    for marker in MARKERS {
        if let Some(at) = lower.find(marker) {
            end = end.min(at);
        }
    }
    let head = &text[..end];
    // The headers of a returned message start with Received/Return-Path lines.
    let mut offset = 0;
    for line in head.split_inclusive('\n') {
        let l = line.trim_start();
        if l.starts_with("Received:") || l.starts_with("Return-Path:") {
            return &head[..offset];
        }
        offset += line.len();
    }
    head
}

/// Every address-like token of the notice, minus the bounce's own sender and recipients (the
/// original sender) and MTA role addresses.
fn addresses_in_notice(notice: &str, facts: &Facts<'_>) -> Vec<String> {
    let own: Vec<&str> = facts
        .from
        .into_iter()
        .chain(facts.to)
        .map(|a| a.address.as_str())
        .collect();
    let mut found = Vec::new();
    // The original sender appears on From/MAIL FROM lines of the notice; it did not bounce.
    let recipient_lines = notice.lines().filter(|line| {
        let l = line.trim_start().to_lowercase();
        ![
            "from:",
            "mail from",
            "sender:",
            "reply-to:",
            "return-path:",
            "in:  mail",
        ]
        .iter()
        .any(|p| l.starts_with(p))
    });
    let is_separator = |c: char| {
        c.is_whitespace() || matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | '"' | ',' | ';')
    };
    for token in recipient_lines.flat_map(|line| line.split(is_separator)) {
        let token = token.trim_matches(|c: char| matches!(c, '.' | ':' | '\'' | '`'));
        let Some(address) = recipient_of(token) else {
            continue;
        };
        if own.contains(&address.as_str()) || is_mailer_daemon(&address) {
            continue;
        }
        // Message-IDs and URLs also contain '@'; an address has one '@' and a sane local part.
        if address.matches('@').count() != 1 || address.contains('/') || address.contains('=') {
            continue;
        }
        push_unique(&mut found, Some(address));
        if found.len() >= 20 {
            break;
        }
    }
    found
}

fn is_mailer_daemon(address: &str) -> bool {
    let local = address.rsplit_once('@').map_or(address, |(local, _)| local);
    let squashed: String = local.chars().filter(|c| c.is_alphanumeric()).collect();
    squashed.eq_ignore_ascii_case("mailerdaemon")
}

/// Last resort: the To of the returned original message (a message/rfc822 part, else `To:`
/// lines in the text after the notice), which for the usual single-recipient mail is the address
/// that bounced.
fn returned_message_recipients(facts: &Facts<'_>) -> Vec<String> {
    let own: Vec<&str> = facts.to.iter().map(|a| a.address.as_str()).collect();
    let mut found = Vec::new();
    for part in &facts.parsed.parts {
        if let mail_parser::PartType::Message(message) = &part.body {
            for address in message
                .header_values(mail_parser::HeaderName::To)
                .filter_map(|v| v.as_address())
            {
                for addr in address.iter() {
                    let address = addr.address.as_deref().and_then(recipient_of);
                    push_unique(&mut found, address.filter(|a| !own.contains(&a.as_str())));
                }
            }
        }
    }
    if found.is_empty() {
        for line in facts.text.lines() {
            let line = line.trim_start();
            if let (Some(name), Some(value)) = (line.get(..3), line.get(3..))
                && name.eq_ignore_ascii_case("to:")
            {
                for token in
                    value.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ',' | '"'))
                {
                    push_unique(
                        &mut found,
                        recipient_of(token).filter(|a| !own.contains(&a.as_str())),
                    );
                }
            }
        }
    }
    found
}

/// The first RFC 3463 enhanced status code (`4.x.x` or `5.x.x`) in `text`.
pub fn enhanced_status_in(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if !(b == b'4' || b == b'5')
            || (i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.'))
        {
            continue;
        }
        let rest = &text[i..];
        let mut parts = rest.splitn(3, '.');
        let (Some(class), Some(subject), Some(tail)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let detail: String = tail.chars().take_while(char::is_ascii_digit).collect();
        let next = tail[detail.len()..].chars().next();
        if class.len() == 1
            && (1..=3).contains(&subject.len())
            && subject.bytes().all(|c| c.is_ascii_digit())
            && (1..=3).contains(&detail.len())
            && !matches!(next, Some('.') | Some('0'..='9'))
        {
            return Some(format!("{class}.{subject}.{detail}"));
        }
    }
    None
}

fn reads_as_delay(text: &str) -> bool {
    let text = text.to_lowercase();
    [
        "delayed",
        "delivery delay",
        "will retry",
        "will be retried",
        "still trying",
        "has not yet been delivered",
        "not been delivered yet",
        "temporary failure",
        "temporarily",
        "warning: could not send",
    ]
    .iter()
    .any(|p| text.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_recipient_spellings() {
        for (value, want) in [
            (" rfc822; User@Example.COM", Some("user@example.com")),
            ("RFC822;<user@example.com>", Some("user@example.com")),
            ("rfc822; user@example.com (Joe)", Some("user@example.com")),
            ("user@example.com", Some("user@example.com")),
            ("X-Unix; joe", None),
            ("rfc822;", None),
        ] {
            assert_eq!(recipient_of(value).as_deref(), want, "{value:?}");
        }
    }

    #[test]
    fn enhanced_status_codes() {
        assert_eq!(
            enhanced_status_in("550 5.1.1 <x@y>: unknown").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            enhanced_status_in("Status: 4.4.7").as_deref(),
            Some("4.4.7")
        );
        assert_eq!(
            enhanced_status_in("#5.7.133 blocked").as_deref(),
            Some("5.7.133")
        );
        assert_eq!(enhanced_status_in("version 14.5.2.1 here"), None);
        assert_eq!(enhanced_status_in("2.0.0 ok"), None);
        assert_eq!(enhanced_status_in("5.1."), None);
        assert_eq!(enhanced_status_in(""), None);
    }
}
