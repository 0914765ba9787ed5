//! The class of a message (SPEC §2): own, bounce, auto-reply, list, role or human, in that order
//! of precedence, plus what a bounce says (who, how bad) and what candor's own mark says.

use mail_parser::MimeHeaders;

use super::headers::{self, RawHeader};
use super::{Address, Bounce, CandorMark, Class};

/// What classification looks at.
pub struct Facts<'a> {
    pub headers: &'a [RawHeader<'a>],
    pub parsed: &'a mail_parser::Message<'a>,
    /// The whole input, line endings normalised.
    pub raw: &'a [u8],
    pub from: Option<&'a Address>,
    pub to: &'a [Address],
    /// Decoded and folded, "" when absent.
    pub subject: &'a str,
    pub text: &'a str,
}

/// The outcome: the class and the details that belong to it.
pub struct Verdict {
    pub class: Class,
    pub bounce: Option<Bounce>,
    pub candor: Option<CandorMark>,
    /// An automatic reply that is a read or delivery receipt: the date in it is when the message
    /// was read or delivered, never a return date.
    pub read_receipt: bool,
}

pub fn classify(facts: &Facts<'_>) -> Verdict {
    let verdict = |class, bounce, candor| Verdict {
        class,
        bounce,
        candor,
        read_receipt: false,
    };
    if let Some(value) = headers::first(facts.headers, "X-Candor") {
        return verdict(Class::Own, None, Some(parse_candor_mark(value)));
    }
    let dsn = is_dsn(facts);
    if (dsn && !reports_only_success(facts.parsed)) || (!dsn && is_non_dsn_bounce(facts)) {
        return verdict(Class::Bounce, Some(super::bounce::details(facts)), None);
    }
    // A delivery receipt is a DSN that reports no failure: like a read receipt, it says
    // something about the owner's message, nothing from the candidate.
    if dsn || is_read_receipt(facts) {
        return Verdict {
            read_receipt: true,
            ..verdict(Class::AutoReply, None, None)
        };
    }
    if is_auto_reply(facts) {
        return verdict(Class::AutoReply, None, None);
    }
    if is_list(facts.headers) {
        return verdict(Class::List, None, None);
    }
    if facts
        .from
        .is_some_and(|from| is_role_address(&from.address))
    {
        return verdict(Class::Role, None, None);
    }
    verdict(Class::Human, None, None)
}

/// `X-Candor: kind=<kind>; outbox=<id>; account=<name>`; unknown keys are ignored, a missing
/// kind is an empty string (the header alone makes the message `own`).
pub fn parse_candor_mark(value: &str) -> CandorMark {
    let mut mark = CandorMark {
        kind: String::new(),
        outbox: None,
        account: None,
    };
    for pair in value.split(';') {
        let Some((key, val)) = pair.split_once('=') else {
            continue;
        };
        let val = val.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "kind" => mark.kind = val.to_string(),
            "outbox" => mark.outbox = val.parse().ok(),
            "account" => mark.account = Some(val.to_string()).filter(|a| !a.is_empty()),
            _ => {}
        }
    }
    mark
}

/// RFC 3464 / RFC 6533: a `multipart/report; report-type=delivery-status` (or the global
/// variant) or any `message/delivery-status` part.
pub fn is_dsn(facts: &Facts<'_>) -> bool {
    let top_is_report = facts.parsed.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(|t| {
                t.eq_ignore_ascii_case("delivery-status")
                    || t.eq_ignore_ascii_case("global-delivery-status")
            })
    });
    top_is_report || !delivery_status_parts(facts.parsed).is_empty()
}

/// The decoded contents of every `message/(global-)delivery-status` part.
pub fn delivery_status_parts(parsed: &mail_parser::Message<'_>) -> Vec<String> {
    parsed
        .parts
        .iter()
        .filter(|part| {
            part.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("message")
                    && ct.subtype().is_some_and(|s| {
                        s.eq_ignore_ascii_case("delivery-status")
                            || s.eq_ignore_ascii_case("global-delivery-status")
                    })
            })
        })
        .map(|part| match part.body {
            // A delivery-status part whose body mail-parser read as a nested message keeps
            // its fields as that message's headers: take the raw bytes of the part instead.
            mail_parser::PartType::Message(ref message) => {
                headers::lossy(message.raw_message()).into_owned()
            }
            _ => headers::lossy(part.contents()).into_owned(),
        })
        .collect()
}

/// Whether the delivery-status parts name an Action for some recipient and every Action is a
/// success (`delivered`, `relayed`, `expanded`: RFC 3464 §2.3.3): a delivery receipt, which
/// Postfix sends for NOTIFY=SUCCESS and Exchange for Outlook's delivery receipt requests. Its
/// address works: read as a hard bounce (no 4/5 status), it made the candidate bounced (found
/// in review).
fn reports_only_success(parsed: &mail_parser::Message<'_>) -> bool {
    let mut actions = 0;
    for part in delivery_status_parts(parsed) {
        for line in part.lines() {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("Action") {
                continue;
            }
            if !super::bounce::is_success_action(value) {
                return false;
            }
            actions += 1;
        }
    }
    actions > 0
}

/// Phrases with which MTAs announce a failed or delayed delivery (subjects and first lines of
/// non-DSN bounces in the sisimai corpus: qmail, Exim, Sendmail, Notes, Domino, Japanese
/// carriers in English, ...). Lowercase.
const FAILURE_PHRASES: &[&str] = &[
    "undeliverable",
    "undelivered",
    "not delivered",
    "could not be delivered",
    "couldn't be delivered",
    "cannot be delivered",
    "can't be delivered",
    "was not delivered",
    "delivery failure",
    "delivery failed",
    "delivery has failed",
    "failed delivery",
    "delivery status notification",
    "delivery notification",
    "delivery problem",
    "failure notice",
    "failure delivery",
    "returned mail",
    "return mail",
    "mail delivery failed",
    "mail delivery failure",
    "unable to deliver",
    "permanent error",
    "permanent fatal",
    "fatal error",
    "user unknown",
    "unknown user",
    "no such user",
    "mailbox unavailable",
    "non-delivery",
    "nondeliverable",
    "non deliverable",
    "unzustellbar",
    "nicht zugestellt",
    "non remis",
    "delivery delayed",
    "delayed mail",
    "message delayed",
    "warning: could not send",
    "returned to sender",
    "mail system error",
    "message you sent",
    "error sending message",
    "mail could not be",
    "rejected",
    "mail failure",
    "mail failed",
    "could not send",
    "returning to sender",
    "did not reach",
    "invalid user",
    "invalid recipient",
    "not be delivered",
    "送信できません",
    "配信できません",
    "届きませんでした",
];

fn reads_as_failure(s: &str) -> bool {
    let s = s.to_lowercase();
    FAILURE_PHRASES.iter().any(|phrase| s.contains(phrase))
}

/// A bounce without a DSN part: a mailer-daemon-like sender (or the null return path of RFC 5321
/// §4.5.5) whose subject or text reads as a delivery failure.
fn is_non_dsn_bounce(facts: &Facts<'_>) -> bool {
    let sender_is_mta = facts.from.is_some_and(|from| {
        let name = from.name.as_deref().unwrap_or("").to_lowercase();
        with_normalized_local_part(&from.address, |local| {
            [
                "mailerdaemon",
                "maildaemon",
                "postmaster",
                "mailadministrator",
                "mailsystem",
            ]
            .iter()
            .any(|role| local.starts_with(role))
        }) || [
            "mail delivery",
            "mailer-daemon",
            "mailer daemon",
            "postmaster",
            "mail administrator",
        ]
        .iter()
        .any(|n| name.contains(n))
    });
    let null_return_path = headers::values(facts.headers, "Return-Path").any(|v| {
        v.trim_matches(|c: char| c.is_whitespace() || c == '<' || c == '>')
            .is_empty()
    });
    let no_from = facts.from.is_none();
    (sender_is_mta || null_return_path || no_from)
        && (reads_as_failure(facts.subject)
            || reads_as_failure(headers::truncate_at_char(facts.text, 2048))
            || reads_as_failure(&raw_body_start(facts.raw)))
}

/// The first 2 KB of the undecoded body: broken MIME (a boundary parameter on an unfolded line,
/// sisimai apachejames-01) can hide the failure text from the MIME parser.
fn raw_body_start(raw: &[u8]) -> String {
    let (_, body) = headers::split_header_body(raw);
    headers::lossy(&body[..body.len().min(2048)]).into_owned()
}

/// RFC 3834 and the common vendor markers, then localised out-of-office subjects.
fn is_auto_reply(facts: &Facts<'_>) -> bool {
    let hs = facts.headers;
    let auto_submitted = headers::values(hs, "Auto-Submitted").any(|v| {
        // "auto-replied (vacation)", "auto-generated; owner-email=..."
        let token = v.split(['(', ';']).next().unwrap_or("").trim();
        !token.is_empty() && !token.eq_ignore_ascii_case("no")
    });
    let flag = |name: &str| {
        headers::values(hs, name).any(|v| {
            let v = v.trim();
            !v.eq_ignore_ascii_case("no") && !v.eq_ignore_ascii_case("false")
        })
    };
    let precedence_auto =
        headers::values(hs, "Precedence").any(|v| v.trim().eq_ignore_ascii_case("auto_reply"));
    // Apple Mail's vacation rule (seen in sisimai rfc3834 samples); X-Autogenerated: Reply is
    // Lotus Notes' out-of-office agent.
    let vendor = headers::values(hs, "X-Apple-Action")
        .any(|v| v.trim().eq_ignore_ascii_case("vacation"))
        || headers::values(hs, "X-Autogenerated").any(|v| v.trim().eq_ignore_ascii_case("reply"));
    auto_submitted
        || flag("X-Autoreply")
        || flag("X-Autorespond")
        || flag("X-Autoresponder")
        || precedence_auto
        || vendor
        || subject_reads_as_auto_reply(facts.subject)
}

/// A read receipt (RFC 8098 message disposition notification, RFC 6533 for the global variant):
/// a `multipart/report; report-type=disposition-notification` or any disposition-notification
/// part. A mail client sends it, often without any auto-reply header; it says the message was
/// seen, not what the candidate answers, so it must not close a wait or count as a reply (found
/// in review: it was `human`).
fn is_read_receipt(facts: &Facts<'_>) -> bool {
    let is_mdn_type = |subtype: &str| {
        subtype.eq_ignore_ascii_case("disposition-notification")
            || subtype.eq_ignore_ascii_case("global-disposition-notification")
    };
    let top_is_report = facts.parsed.content_type().is_some_and(|ct| {
        ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && ct.attribute("report-type").is_some_and(is_mdn_type)
    });
    top_is_report
        || facts.parsed.parts.iter().any(|part| {
            part.content_type().is_some_and(|ct| {
                ct.ctype().eq_ignore_ascii_case("message") && ct.subtype().is_some_and(is_mdn_type)
            })
        })
}

/// Distinctive auto-reply subjects: matched anywhere.
const AUTO_REPLY_SUBJECTS: &[&str] = &[
    "out of office",
    "out of the office",
    "out-of-office",
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "auto response",
    "auto-response",
    "autoresponse",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "reponse automatique",
    "respuesta automática",
    "respuesta automatica",
    "risposta automatica",
    "automatisch antwoord",
    "autosvar",
    "vacation reply",
];

/// Short words that are auto-reply subjects only at the start ("Absence: ...", "Afwezig: ..."),
/// since inside a sentence they are ordinary words.
const AUTO_REPLY_SUBJECT_PREFIXES: &[&str] = &["absence", "afwezig", "frånvaro", "abwesend", "ooo"];

pub fn subject_reads_as_auto_reply(subject: &str) -> bool {
    let s = subject.trim().to_lowercase();
    let starts_as_auto_reply = |s: &str| {
        AUTO_REPLY_SUBJECTS.iter().any(|p| s.starts_with(p))
            || AUTO_REPLY_SUBJECT_PREFIXES.iter().any(|p| {
                s.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', ' ', '-', ']']))
            })
    };
    // "Re: Out of Office: Backend role" is a person answering (or forwarding) an automatic
    // reply, as the owner does on the candidate's when it is the thread's latest mail (found in
    // review: such answers were auto-replies and opened or closed no wait). An auto-reply puts
    // its words first, or marks itself with a header.
    if crate::threading::answered_subject(&s).is_some_and(starts_as_auto_reply) {
        return false;
    }
    AUTO_REPLY_SUBJECTS.iter().any(|p| s.contains(p)) || starts_as_auto_reply(&s)
}

/// RFC 2369 / RFC 2919 list headers, or a bulk precedence.
fn is_list(hs: &[RawHeader<'_>]) -> bool {
    ["List-Id", "List-Unsubscribe", "List-Post"]
        .iter()
        .any(|name| headers::first(hs, name).is_some())
        || headers::values(hs, "Precedence").any(|v| {
            let v = v.trim();
            ["bulk", "list", "junk"]
                .iter()
                .any(|p| v.eq_ignore_ascii_case(p))
        })
}

/// The local part, lowercased, with `-`, `_` and `.` removed, so that the many spellings of
/// no-reply and mailer-daemon compare equal; given to `f`. Every message's sender goes through
/// here twice: a usual (ASCII) local part is squashed on the stack.
fn with_normalized_local_part<R>(address: &str, f: impl FnOnce(&str) -> R) -> R {
    let local = address.rsplit_once('@').map_or(address, |(local, _)| local);
    let squash = |c: &char| !matches!(c, '-' | '_' | '.' | '+');
    let mut buffer = [0u8; 128];
    if local.is_ascii() && local.len() <= buffer.len() {
        let mut len = 0;
        for byte in local.bytes().filter(|b| squash(&char::from(*b))) {
            buffer[len] = byte.to_ascii_lowercase();
            len += 1;
        }
        // ASCII bytes in, ASCII bytes out.
        return f(std::str::from_utf8(&buffer[..len]).unwrap_or_default());
    }
    let squashed: String = local.to_lowercase().chars().filter(squash).collect();
    f(&squashed)
}

/// `s` starts with the lowercase ASCII `prefix`, in any case.
fn starts_with_ignoring_case(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// `s` ends with the lowercase ASCII `suffix`, in any case.
fn ends_with_ignoring_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// SPEC §2 role senders: mailer-daemon, postmaster, no-reply and variants, owner-*, *-request,
/// bounce*.
pub fn is_role_address(address: &str) -> bool {
    let local = address.rsplit_once('@').map_or(address, |(local, _)| local);
    // Lowercasing leaves these ASCII affixes where they were: a character that lowercases to
    // ASCII (the Kelvin sign, to "k") is in none of them, and one that lowercases to several
    // (İ, to "i" and a combining dot) cannot complete one, none ending in "i".
    let role_affix = starts_with_ignoring_case(local, "owner-")
        || ends_with_ignoring_case(local, "-request")
        || starts_with_ignoring_case(local, "bounce");
    role_affix
        || with_normalized_local_part(address, |squashed| {
            squashed == "mailerdaemon"
                || squashed == "postmaster"
                || squashed.starts_with("noreply")
                || squashed.starts_with("donotreply")
                || squashed.starts_with("dontreply")
                || squashed.ends_with("noreply")
        })
}
