//! The emails candor writes (SPEC §8–§9): templates (shipped defaults, overridable beside the
//! config file) and the exact bytes, built once and stored with the outbox row.
//!
//! Every value that reaches a header is cleaned of CR, LF and other control characters first, so
//! a candidate's display name or a subject can never add a header or a recipient.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context as _;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use minijinja::{Environment, UndefinedBehavior, context};

/// The kinds of SPEC §8 with their shipped templates (text, HTML).
const DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "follow_up_1",
        include_str!("../../templates/follow_up_1.txt"),
        include_str!("../../templates/follow_up_1.html"),
    ),
    (
        "follow_up_2",
        include_str!("../../templates/follow_up_2.txt"),
        include_str!("../../templates/follow_up_2.html"),
    ),
    (
        "closure_silence",
        include_str!("../../templates/closure_silence.txt"),
        include_str!("../../templates/closure_silence.html"),
    ),
    (
        "closure_position_filled",
        include_str!("../../templates/closure_position_filled.txt"),
        include_str!("../../templates/closure_position_filled.html"),
    ),
    (
        "closure_not_selected",
        include_str!("../../templates/closure_not_selected.txt"),
        include_str!("../../templates/closure_not_selected.html"),
    ),
    (
        "closure_no_current_role",
        include_str!("../../templates/closure_no_current_role.txt"),
        include_str!("../../templates/closure_no_current_role.html"),
    ),
    (
        "closure_withdrawn",
        include_str!("../../templates/closure_withdrawn.txt"),
        include_str!("../../templates/closure_withdrawn.html"),
    ),
];

const DIGEST_TEXT: &str = include_str!("../../templates/digest.txt");
const DIGEST_HTML: &str = include_str!("../../templates/digest.html");

/// The kinds whose templates candor ships.
pub fn kinds() -> impl Iterator<Item = &'static str> {
    DEFAULTS.iter().map(|(kind, _, _)| *kind)
}

/// A template that failed to render, named by the file it came from (the override's path, else
/// the template's name).
fn template_problem(config_dir: Option<&Path>, kind: &str, err: &anyhow::Error) -> String {
    let name = err
        .chain()
        .find_map(|e| e.downcast_ref::<minijinja::Error>())
        .and_then(|e| e.name().map(str::to_owned))
        .unwrap_or_else(|| kind.to_owned());
    let shown = override_path(config_dir, &name).map_or(name, |p| p.display().to_string());
    format!("{shown}: {err:#}")
}

/// The templates of every kind: the shipped defaults, each replaced by `<kind>.txt` /
/// `<kind>.html` from `templates/` beside the config file when present.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn load(config_dir: Option<&Path>) -> anyhow::Result<Templates> {
        let (templates, problems) = Templates::load_all(config_dir);
        if !problems.is_empty() {
            anyhow::bail!("{}", problems.join("; "));
        }
        Ok(templates)
    }

    /// Every template, with every problem found on the way (an override that cannot be read or
    /// does not parse: the shipped default stands in for it).
    fn load_all(config_dir: Option<&Path>) -> (Templates, Vec<String>) {
        let mut env = Environment::new();
        // A typo in an override must fail loudly, not send "Hi ," to a candidate.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut problems = Vec::new();
        let all = DEFAULTS
            .iter()
            .flat_map(|(kind, text, html)| [(*kind, "txt", *text), (*kind, "html", *html)])
            .chain([
                ("digest", "txt", DIGEST_TEXT),
                ("digest", "html", DIGEST_HTML),
            ]);
        for (kind, ext, default) in all {
            let name = format!("{kind}.{ext}");
            let path = override_path(config_dir, &name);
            let source = match &path {
                Some(path) => match std::fs::read_to_string(path) {
                    Ok(source) => source,
                    Err(err) => {
                        problems.push(format!(
                            "{}: cannot read the template: {err}",
                            path.display()
                        ));
                        // The default stands in, so that the rest is still checked.
                        default.to_owned()
                    }
                },
                None => default.to_owned(),
            };
            if let Err(err) = env.add_template_owned(name.clone(), source) {
                let shown = path
                    .as_ref()
                    .map_or(name.clone(), |p| p.display().to_string());
                problems.push(format!("{shown}: the template does not parse: {err}"));
                // The default stands in, so that the other templates are still checked.
                let _ = env.add_template_owned(name, default.to_owned());
            }
        }
        (Templates { env }, problems)
    }

    /// What `candor check-config` says of the templates: every problem [`Templates::load`]
    /// would stop at, and every candidate email that does not render with sample values (a
    /// misspelt variable fails only when an email is rendered, otherwise).
    pub fn check(config_dir: Option<&Path>) -> Vec<String> {
        let (templates, mut problems) = Templates::load_all(config_dir);
        let samples = [
            Vars {
                candidate_name: "Ann Lee".to_owned(),
                candidate_address: "ann@candidates.example".to_owned(),
                subject: "Backend role".to_owned(),
                owner_name: "Jane Doe".to_owned(),
                owner_signature: "Jane Doe\nAgency".to_owned(),
                days_since: 7,
            },
            Vars {
                candidate_address: "ann@candidates.example".to_owned(),
                ..Vars::default()
            },
        ];
        for kind in kinds() {
            for vars in &samples {
                if let Err(err) = templates.render(kind, vars) {
                    problems.push(template_problem(config_dir, kind, &err));
                    break;
                }
            }
        }
        // The digest's templates too: one that does not render would fail every digest, and
        // with it every closure that waits for a digest to list it (found in review).
        for digest in crate::report::digest::Digest::samples() {
            if let Err(err) = templates.render_digest(&digest) {
                problems.push(template_problem(config_dir, "digest", &err));
                break;
            }
        }
        problems
    }

    /// Renders the digest's text and HTML parts from its data.
    pub fn render_digest(
        &self,
        digest: &crate::report::digest::Digest,
    ) -> anyhow::Result<(String, String)> {
        let ctx = minijinja::Value::from(minijinja::value::Serde(digest));
        let render = |name: &str| -> anyhow::Result<String> {
            self.env
                .get_template(name)
                .with_context(|| format!("no template {name}"))?
                .render(&ctx)
                .with_context(|| format!("cannot render the template {name}"))
        };
        Ok((render("digest.txt")?, render("digest.html")?))
    }

    /// Renders the text and HTML parts of `kind`. HTML templates escape every variable.
    pub fn render(&self, kind: &str, vars: &Vars) -> anyhow::Result<(String, String)> {
        let first_name = first_name(&vars.candidate_name).unwrap_or_else(|| "there".to_owned());
        let ctx = context! {
            candidate => context! {
                name => vars.candidate_name.clone(),
                first_name => first_name,
                address => vars.candidate_address.clone(),
            },
            subject => vars.subject.clone(),
            owner => context! {
                name => vars.owner_name.clone(),
                signature => vars.owner_signature.clone(),
                signature_lines => vars.owner_signature.lines().map(str::to_owned).collect::<Vec<_>>(),
            },
            days_since => vars.days_since,
        };
        let render = |ext: &str| -> anyhow::Result<String> {
            let name = format!("{kind}.{ext}");
            self.env
                .get_template(&name)
                .with_context(|| format!("no template {name}"))?
                .render(&ctx)
                .with_context(|| format!("cannot render the template {name}"))
        };
        Ok((render("txt")?, render("html")?))
    }
}

/// The file that overrides the shipped template `name` (`templates/` beside the config), if
/// there is one.
fn override_path(config_dir: Option<&Path>, name: &str) -> Option<std::path::PathBuf> {
    config_dir
        .map(|d| d.join("templates").join(name))
        .filter(|path| path.exists())
}

/// The variables of SPEC §9.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    pub candidate_name: String,
    pub candidate_address: String,
    pub subject: String,
    pub owner_name: String,
    pub owner_signature: String,
    pub days_since: i64,
}

/// Titles that come before a first name.
const TITLES: &[&str] = &[
    "dr", "mr", "mrs", "ms", "miss", "mx", "prof", "sir", "dame", "herr", "frau", "mme", "mlle",
    "m", "dott", "ing", "dipl", "mag", "sr", "sra", "srta",
];

/// Words that make a display name an organisation's, not a person's.
const ORGANISATION_WORDS: &[&str] = &[
    "team",
    "recruiting",
    "recruitment",
    "talent",
    "careers",
    "jobs",
    "hr",
    "hiring",
    "support",
    "info",
    "office",
    "inc",
    "ltd",
    "llc",
    "gmbh",
    "ag",
    "sa",
    "bv",
];

/// The first name in a display name, for "Hi Anna,": titles skipped, "Last, First" read as
/// First, quotes dropped; `None` for an address, an organisation or no word with a letter
/// (found in review: "Dr. Anna Müller" was greeted "Hi Dr.,", "MÜLLER, Anna" "Hi MÜLLER,,",
/// "Acme Recruiting Team" "Hi Acme,").
pub fn first_name(display_name: &str) -> Option<String> {
    let quotes: &[char] = &[
        '"', '\'', '`', '\u{2018}', '\u{2019}', '\u{201c}', '\u{201d}',
    ];
    let name = display_name.trim().trim_matches(quotes).trim();
    if name.contains('@') {
        return None;
    }
    let bare = |word: &str| {
        word.trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase()
    };
    if name
        .split_whitespace()
        .any(|word| ORGANISATION_WORDS.contains(&bare(word).as_str()))
    {
        return None;
    }
    // "Müller, Anna": the given name follows the comma.
    let given = match name.split_once(',') {
        Some((_, after)) if !after.trim().is_empty() => after,
        _ => name,
    };
    given
        .split_whitespace()
        .map(|word| word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'))
        .filter(|word| !word.is_empty())
        .find(|word| !TITLES.contains(&bare(word).as_str()))
        .filter(|word| word.chars().any(char::is_alphabetic))
        .map(str::to_owned)
}

/// Removes what could break out of a header: CR, LF and every other control character.
pub fn header_safe(value: &str) -> String {
    let cleaned: String = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The subject as people say it in a sentence: reply and forward prefixes removed, and a
/// calendar client's answer prefix ("Accepted: Interview" is the invitation "Interview").
pub fn display_subject(subject: &str) -> String {
    let mut s = header_safe(subject);
    loop {
        let lower = s.to_lowercase();
        let prefix = [
            "re:", "aw:", "sv:", "fw:", "fwd:", "wg:", "antw:", "tr:", "rv:",
        ]
        .iter()
        .find(|p| lower.starts_with(*p));
        match prefix {
            Some(p) => s = s[p.len()..].trim_start().to_owned(),
            None => {
                let rest = crate::threading::without_calendar_answer(&s);
                if rest.len() == s.len() {
                    return s;
                }
                s = rest.to_owned();
            }
        }
    }
}

/// The subject of candor's reply: "Re: " and the subject without its reply and forward prefixes.
/// A forward prefix would tell the candidate their message went round inside (found in review:
/// a closure answering the hiring manager's "Re: Fwd: Application" kept it).
/// A subject that already is a plain reply ("AW: Bewerbung" in a German thread) is kept as it
/// is.
pub fn reply_subject(subject: &str) -> String {
    let safe = header_safe(subject);
    let base = display_subject(&safe);
    let lower = safe.to_ascii_lowercase();
    let plain_reply = ["re:", "aw:", "sv:"]
        .iter()
        .any(|prefix| lower.starts_with(prefix) && safe[prefix.len()..].trim_start() == base);
    if base.is_empty() {
        "Re: our conversation".to_owned()
    } else if plain_reply {
        safe
    } else {
        format!("Re: {base}")
    }
}

/// Everything that goes into one email besides its body.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub from_name: String,
    pub from_address: String,
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    /// The message answered, without brackets.
    pub in_reply_to: Option<String>,
    /// The References of the answered message, then its id; without brackets.
    pub references: Vec<String>,
    /// Our final Message-ID, without brackets.
    pub message_id: String,
    /// `X-Candor: kind=<kind>; outbox=<id>; account=<name>`.
    pub kind: String,
    pub outbox_id: i64,
    pub account: String,
    pub date: jiff::Timestamp,
    /// Digests: `Auto-Submitted: auto-generated` and `X-Auto-Response-Suppress: All`.
    pub digest: bool,
}

fn mailbox(name: &str, address: &str) -> anyhow::Result<Mailbox> {
    let address = address
        .parse()
        .with_context(|| format!("{address:?} is not an address lettre accepts"))?;
    let name = header_safe(name);
    Ok(Mailbox::new((!name.is_empty()).then_some(name), address))
}

fn raw_header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), header_safe(&value))
}

/// Keeps an id usable inside `<...>`: no brackets, spaces or control characters.
fn clean_id(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_control() && !c.is_whitespace() && *c != '<' && *c != '>')
        .collect()
}

/// The CRLF bytes of the email: multipart/alternative (text and HTML) with our headers.
pub fn build(envelope: &Envelope, text: String, html: String) -> anyhow::Result<Vec<u8>> {
    let mut builder = lettre::Message::builder()
        .from(mailbox(&envelope.from_name, &envelope.from_address)?)
        .to(mailbox(&envelope.to_name, &envelope.to_address)?)
        .subject(header_safe(&envelope.subject))
        .message_id(Some(format!("<{}>", clean_id(&envelope.message_id))))
        .date(
            SystemTime::UNIX_EPOCH
                + std::time::Duration::from_secs(envelope.date.as_second().max(0) as u64),
        );
    if let Some(parent) = &envelope.in_reply_to {
        builder = builder.in_reply_to(format!("<{}>", clean_id(parent)));
    }
    if !envelope.references.is_empty() {
        // One call with the whole list: a second call would replace the first (crates.md).
        let refs: Vec<String> = envelope
            .references
            .iter()
            .map(|r| format!("<{}>", clean_id(r)))
            .collect();
        builder = builder.references(refs.join(" "));
    }
    builder = builder.raw_header(raw_header(
        "X-Candor",
        format!(
            "kind={}; outbox={}; account={}",
            envelope.kind, envelope.outbox_id, envelope.account
        ),
    ));
    if envelope.digest {
        builder = builder
            .raw_header(raw_header("Auto-Submitted", "auto-generated".to_owned()))
            .raw_header(raw_header("X-Auto-Response-Suppress", "All".to_owned()));
    } else {
        builder = builder.raw_header(raw_header(
            "X-Auto-Response-Suppress",
            "OOF, AutoReply".to_owned(),
        ));
    }
    let message = builder
        .multipart(MultiPart::alternative_plain_html(text, html))
        .context("cannot build the email")?;
    Ok(message.formatted())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope() -> Envelope {
        Envelope {
            from_name: "Jane Doe".to_owned(),
            from_address: "jane@agency.example".to_owned(),
            to_name: "Ann\r\nBcc: victim@evil.example".to_owned(),
            to_address: "ann@c.example".to_owned(),
            subject: "Role\r\nBcc: other@evil.example".to_owned(),
            in_reply_to: Some("q1@agency.example".to_owned()),
            references: vec!["r0@x".to_owned(), "q1@agency.example".to_owned()],
            message_id: "candor.1.abc@agency.example".to_owned(),
            kind: "follow_up_1".to_owned(),
            outbox_id: 1,
            account: "jane".to_owned(),
            date: "2026-03-02T09:00:00Z".parse().unwrap(),
            digest: false,
        }
    }

    #[test]
    fn cr_lf_in_names_and_subjects_never_add_headers() {
        let raw = build(&envelope(), "hi".to_owned(), "<p>hi</p>".to_owned()).unwrap();
        let text = String::from_utf8_lossy(&raw);
        let head = text.split("\r\n\r\n").next().unwrap();
        assert!(
            !head.lines().any(|l| l.to_lowercase().starts_with("bcc:")),
            "no injected header:\n{head}"
        );
        assert!(
            head.contains("Message-ID: <candor.1.abc@agency.example>"),
            "{head}"
        );
        assert!(head.contains("In-Reply-To: <q1@agency.example>"), "{head}");
        assert!(
            head.contains("References: <r0@x> <q1@agency.example>"),
            "{head}"
        );
        assert!(
            head.contains("X-Candor: kind=follow_up_1; outbox=1; account=jane"),
            "{head}"
        );
        assert!(
            head.contains("X-Auto-Response-Suppress: OOF, AutoReply"),
            "{head}"
        );
        let parsed = crate::mail::parse(&raw).unwrap();
        assert_eq!(parsed.to.len(), 1, "one recipient only");
        assert_eq!(parsed.cc.len(), 0);
        assert_eq!(parsed.class, crate::mail::Class::Own);
    }

    #[test]
    fn shipped_templates_render_every_kind_and_escape_html() {
        let templates = Templates::load(None).unwrap();
        let vars = Vars {
            candidate_name: "Ann <script>alert(1)</script> Lee".to_owned(),
            candidate_address: "ann@c.example".to_owned(),
            subject: "Backend & <b>Data</b>".to_owned(),
            owner_name: "Jane Doe".to_owned(),
            owner_signature: "Jane Doe\nTalent Partner".to_owned(),
            days_since: 6,
        };
        for kind in kinds() {
            let (text, html) = templates.render(kind, &vars).unwrap();
            assert!(text.contains("Hi Ann,"), "{kind}: {text}");
            assert!(text.contains("Talent Partner"), "{kind}");
            assert!(
                !html.contains("<b>Data</b>"),
                "{kind}: the subject is escaped in HTML"
            );
            assert!(
                html.contains("Jane Doe<br>"),
                "{kind}: signature lines: {html}"
            );
        }
    }

    /// Found in review: a drafts-mode digest told the owner what candor "will send", and a
    /// dry-run one too, while candor only drafts, or only records.
    #[test]
    fn the_digest_says_what_candor_does_with_the_coming_emails_in_each_mode() {
        let templates = Templates::load(None).unwrap();
        let [full, _] = crate::report::digest::Digest::samples();
        for (mode, words) in [
            ("auto", "what candor will send in the next 24 hours"),
            (
                "drafts",
                "what candor will draft for you to send in the next 24 hours",
            ),
            (
                "dry-run",
                "what candor will record (dry-run: nothing is sent) in the next 24 hours",
            ),
        ] {
            let digest = crate::report::digest::Digest {
                mode: mode.to_owned(),
                ..full.clone()
            };
            let (text, html) = templates.render_digest(&digest).unwrap();
            assert!(text.contains(&words.to_uppercase()), "{mode}: {text}");
            assert!(html.contains(words), "{mode}: {html}");
        }
    }

    #[test]
    fn an_override_beside_the_config_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(
            dir.path().join("templates/follow_up_1.txt"),
            "Hello {{ candidate.first_name }}!",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        let vars = Vars {
            candidate_name: "Bo".to_owned(),
            ..Vars::default()
        };
        assert_eq!(
            templates.render("follow_up_1", &vars).unwrap().0,
            "Hello Bo!"
        );
        std::fs::write(
            dir.path().join("templates/follow_up_2.txt"),
            "Hello {{ candidate.nmae }}",
        )
        .unwrap();
        let templates = Templates::load(Some(dir.path())).unwrap();
        assert!(
            templates.render("follow_up_2", &vars).is_err(),
            "a typo fails loudly"
        );
    }

    #[test]
    fn check_renders_the_digest_templates_with_full_and_empty_samples() {
        assert_eq!(
            Templates::check(None),
            Vec::<String>::new(),
            "the shipped ones render"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        // Parses, but names a variable no digest has: every digest would fail (found in review).
        std::fs::write(
            dir.path().join("templates/digest.txt"),
            "{{ owner_nmae }}, your summary\n",
        )
        .unwrap();
        // Fails only where a list has an entry: the full sample finds it.
        std::fs::write(
            dir.path().join("templates/digest.html"),
            "{% for a in awaiting_you %}{{ a.nmae }}{% endfor %}",
        )
        .unwrap();
        assert!(Templates::load(Some(dir.path())).is_ok(), "both parse");
        let problems = Templates::check(Some(dir.path()));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("templates/digest.txt") && problems[0].contains("owner_nmae"),
            "{problems:?}"
        );
        std::fs::remove_file(dir.path().join("templates/digest.txt")).unwrap();
        let problems = Templates::check(Some(dir.path()));
        assert!(
            problems.len() == 1 && problems[0].contains("templates/digest.html"),
            "{problems:?}"
        );
    }

    #[test]
    fn the_first_name_is_the_one_a_person_is_greeted_by() {
        let cases = [
            ("Ann Lee", Some("Ann")),
            ("Dr. Anna Müller", Some("Anna")),
            ("Prof. Dr. Anna Müller", Some("Anna")),
            ("MÜLLER, Anna", Some("Anna")),
            ("'Anna Müller'", Some("Anna")),
            ("\"Jean-Luc Picard\"", Some("Jean-Luc")),
            ("😀 Ann", Some("Ann")),
            ("Acme Recruiting Team", None),
            ("ann@c.example", None),
            ("", None),
            ("  ", None),
            ("Müller,", Some("Müller")),
            ("1234", None),
        ];
        for (name, want) in cases {
            assert_eq!(first_name(name).as_deref(), want, "{name:?}");
        }
    }

    #[test]
    fn an_empty_subject_and_one_day_read_naturally() {
        let templates = Templates::load(None).unwrap();
        let vars = |subject: &str, days_since| Vars {
            candidate_name: "Dr. Anna Müller".to_owned(),
            candidate_address: "anna@c.example".to_owned(),
            subject: display_subject(subject),
            owner_name: "Jane Doe".to_owned(),
            owner_signature: "Jane Doe".to_owned(),
            days_since,
        };
        for kind in kinds() {
            for subject in ["", "Re:", "RE: "] {
                let (text, html) = templates.render(kind, &vars(subject, 7)).unwrap();
                assert!(text.starts_with("Hi Anna,"), "{kind}: {text}");
                assert!(
                    !text.contains("\"\""),
                    "{kind}, subject {subject:?}: {text}"
                );
                assert!(
                    !html.contains("&ldquo;&rdquo;"),
                    "{kind}, subject {subject:?}: {html}"
                );
            }
            let (text, _) = templates.render(kind, &vars("Backend role", 1)).unwrap();
            assert!(!text.contains("1 days"), "{kind}: {text}");
            assert!(text.contains("\"Backend role\""), "{kind}: {text}");
        }
        let (text, _) = templates
            .render("follow_up_1", &vars("Backend role", 1))
            .unwrap();
        assert!(
            text.contains("from 1 day ago about \"Backend role\""),
            "{text}"
        );
        let (text, _) = templates
            .render("follow_up_1", &vars("Backend role", 7))
            .unwrap();
        assert!(text.contains("from 7 days ago"), "{text}");
        assert_eq!(reply_subject("Re: Fwd: Application"), "Re: Application");
        assert_eq!(reply_subject("AW: Bewerbung"), "AW: Bewerbung");
        assert_eq!(reply_subject("AW: WG: Bewerbung"), "Re: Bewerbung");
        assert_eq!(reply_subject("Re: Re: Backend"), "Re: Backend");
        assert_eq!(reply_subject("Backend role"), "Re: Backend role");
        assert_eq!(reply_subject(""), "Re: our conversation");
        // A calendar client's answer: the reply is about the invitation, not the answer.
        assert_eq!(
            reply_subject("Accepted: Interview: Backend (Contoso)"),
            "Re: Interview: Backend (Contoso)"
        );
        assert_eq!(reply_subject("AW: Angenommen: Interview"), "Re: Interview");
        assert_eq!(reply_subject("Re: Declined: Interview"), "Re: Interview");
        assert_eq!(reply_subject("Accepted:"), "Re: our conversation");
        assert_eq!(display_subject("Accepté : Entretien"), "Entretien");
    }
}
