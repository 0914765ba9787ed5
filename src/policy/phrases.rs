//! Reading the new (unquoted) text of a message: does it ask something, does it close the
//! process, does it ask candor to stop (SPEC §6). Phrase lists in EN, DE, FR, ES, IT, NL, SV.
//!
//! Matching is on a normalised text (lowercase, typographic apostrophes and dashes made plain,
//! whitespace collapsed) and a phrase matches only at word boundaries, so "are you" does not
//! match "spare you". The lists err on the side of holding back: a false "closing" or "opt-out"
//! costs a follow-up the owner can still send by hand, a false "question" costs an unwanted
//! nudge, so question words are the usual polite request forms only.

use std::sync::LazyLock;

/// Phrases that make the owner's message ask something (besides a '?' or '¿').
const QUESTION_PHRASES: &[&str] = &[
    // EN
    "would you",
    "could you",
    "can you",
    "will you",
    "are you",
    "do you",
    "did you",
    "have you",
    "let me know",
    "let us know",
    "please confirm",
    "please advise",
    "what do you think",
    "would it be",
    "please reply",
    "get back to me",
    // DE
    "kannst du",
    "könntest du",
    "könnten sie",
    "können sie",
    "würden sie",
    "würdest du",
    "hätten sie",
    "hättest du",
    "haben sie",
    "hast du",
    "sind sie",
    "bist du",
    "lass mich wissen",
    "lassen sie mich wissen",
    "geben sie mir bescheid",
    "gib mir bescheid",
    "sag mir bescheid",
    "bitte um rückmeldung",
    "um kurze rückmeldung",
    "freue mich auf ihre rückmeldung",
    // FR
    "pourriez-vous",
    "pouvez-vous",
    "peux-tu",
    "pourrais-tu",
    "êtes-vous",
    "es-tu",
    "seriez-vous",
    "avez-vous",
    "as-tu",
    "voudriez-vous",
    "faites-moi savoir",
    "dites-moi",
    "tenez-moi au courant",
    "tiens-moi au courant",
    "merci de me confirmer",
    // ES
    "podrías",
    "podría usted",
    "puedes",
    "puede usted",
    "estarías",
    "le interesa",
    "te interesa",
    "avísame",
    "hágame saber",
    "házme saber",
    "dime si",
    "me confirmas",
    "quedo atento",
    // IT
    "potresti",
    "potrebbe",
    "saresti",
    "sarebbe interessat*",
    "fammi sapere",
    "mi faccia sapere",
    "puoi",
    "mi confermi",
    "hai tempo",
    // NL
    "zou je",
    "zou u",
    "kun je",
    "kunt u",
    "kan je",
    "heb je",
    "heeft u",
    "ben je",
    "bent u",
    "laat me weten",
    "laat het me weten",
    "laat u het mij weten",
    "laat het mij weten",
    // SV
    "skulle du",
    "kan du",
    "kunde du",
    "har du",
    "är du",
    "vill du",
    "låt mig veta",
    "hör av dig",
    "återkom",
];

/// Phrases that make the owner's message a closing: a rejection, a farewell, an offer with its
/// own deadline. Nobody should be nudged after these.
const CLOSING_PHRASES: &[&str] = &[
    // EN
    "good luck",
    "best of luck",
    "wish you all the best",
    "wish you the best",
    "all the best in your",
    "all the best with your",
    "all the best for your",
    "move forward with other candidates",
    "moving forward with other candidates",
    "decided to proceed with other",
    "decided not to proceed",
    "not to move forward",
    "will not be moving forward",
    "won't be moving forward",
    "regret to inform",
    "position has been filled",
    "role has been filled",
    "offer is valid until",
    "offer expires",
    "this offer is open until",
    "accept the offer by",
    // DE
    "viel erfolg",
    "alles gute",
    "leider müssen wir",
    "leider mitteilen",
    "absage",
    "anderen kandidaten",
    "andere kandidatin",
    "anderen bewerber",
    "bereits besetzt",
    "nicht weiter berücksichtigen",
    "angebot ist gültig bis",
    "angebot gilt bis",
    // FR
    "bonne chance",
    "bonne continuation",
    "d'autres candidats",
    "un autre candidat",
    "ne pas donner suite",
    "pas donner suite",
    "poste a été pourvu",
    "offre est valable jusqu",
    // ES
    "mucha suerte",
    "buena suerte",
    "mucho éxito",
    "otros candidatos",
    "otro candidato",
    "puesto ha sido cubierto",
    "no continuar con tu candidatura",
    "oferta es válida hasta",
    // IT
    "buona fortuna",
    "in bocca al lupo",
    "altri candidati",
    "un altro candidato",
    "posizione è stata coperta",
    "non proseguire",
    "offerta è valida fino",
    // NL
    "veel succes",
    "andere kandidaten",
    "andere kandidaat",
    "functie is vervuld",
    "vacature is vervuld",
    "niet verder gaan",
    "aanbod is geldig tot",
    // SV
    "lycka till",
    "andra kandidater",
    "annan kandidat",
    "tjänsten är tillsatt",
    "inte gå vidare",
    "erbjudandet gäller till",
];

/// Clear requests to stop: final until the owner resumes.
const OPT_OUT_CLEAR: &[&str] = &[
    // EN
    "unsubscribe",
    "stop emailing me",
    "stop e-mailing me",
    "stop contacting me",
    "stop writing to me",
    "stop sending me",
    "do not contact me",
    "don't contact me",
    "do not email me",
    "don't email me",
    "please remove me",
    "remove me from",
    "take me off",
    "not interested",
    "no longer interested",
    "leave me alone",
    // DE
    "kein interesse",
    "nicht interessiert",
    "keine e-mails mehr",
    "keine weiteren e-mails",
    "kontaktieren sie mich nicht",
    "nicht mehr kontaktieren",
    "nicht mehr anschreiben",
    "abmelden",
    "austragen",
    // FR
    "pas intéressé",
    "pas intéressée",
    "ne me contactez plus",
    "ne plus me contacter",
    "désinscrire",
    "désabonner",
    "retirez-moi",
    "arrêtez de m'écrire",
    // ES
    "no estoy interesado",
    "no estoy interesada",
    "no me interesa",
    "no me contacte",
    "no me contactes",
    "dejen de escribirme",
    "deja de escribirme",
    "darme de baja",
    "eliminarme de",
    // IT
    "non sono interessato",
    "non sono interessata",
    "non mi interessa",
    "non contattatemi",
    "non contattarmi",
    "smettete di scrivermi",
    "cancellatemi",
    "rimuovetemi",
    // NL
    "niet geïnteresseerd",
    "geen interesse",
    "neem geen contact",
    "stop met mailen",
    "uitschrijven",
    "verwijder mij",
    "verwijder me",
    // SV
    "inte intresserad",
    "inget intresse",
    "kontakta mig inte",
    "sluta maila",
    "sluta mejla",
    "avregistrera",
    "ta bort mig",
];

/// Not-quite opt-outs: the candidate may well want to hear again later. The owner decides.
const OPT_OUT_AMBIGUOUS: &[&str] = &[
    // EN
    "not right now",
    "maybe later",
    "perhaps later",
    "not interested at the moment",
    "not interested right now",
    "not interested at this time",
    "not at the moment",
    "not at this time",
    "not looking at the moment",
    "not looking right now",
    "maybe in the future",
    "ask me again",
    // DE
    "im moment nicht",
    "derzeit nicht",
    "zurzeit nicht",
    "momentan nicht",
    "vielleicht später",
    "gerade nicht",
    // FR
    "pas pour le moment",
    "pas maintenant",
    "peut-être plus tard",
    "pas en ce moment",
    // ES
    "ahora no",
    "por ahora no",
    "quizás más adelante",
    "tal vez más adelante",
    "de momento no",
    "en este momento no",
    // IT
    "non ora",
    "per ora no",
    "forse più avanti",
    "al momento no",
    "magari più avanti",
    "non al momento",
    // NL
    "nu even niet",
    "op dit moment niet",
    "misschien later",
    "voorlopig niet",
    // SV
    "inte just nu",
    "kanske senare",
    "inte för tillfället",
    "inte i nuläget",
];

/// What a candidate's text says about further mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptOut {
    None,
    /// "Not right now": hold and ask the owner.
    Ambiguous,
    /// A clear request to stop.
    Clear,
}

/// Lowercase, plain apostrophes and hyphens, single spaces.
pub fn normalise(text: &str) -> String {
    // Lowercased as a whole (a final sigma depends on its neighbours), then one pass that maps
    // the punctuation and collapses whitespace: the planner reads every message's text at every
    // plan, and the split-and-join it replaces allocated once per word.
    let lower = text.to_lowercase();
    let mut out = String::with_capacity(lower.len());
    let mut space = false;
    for c in lower.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(match c {
            '\u{2019}' | '\u{2018}' | '`' | '\u{00b4}' => '\'',
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' => '-',
            other => other,
        });
    }
    out
}

/// Whether `phrase` (already normalised) occurs in `text` (normalised) at word boundaries.
pub fn contains_phrase(text: &str, phrase: &str) -> bool {
    let (phrase, open_ended) = open_ended(phrase);
    if phrase.is_empty() {
        return false;
    }
    text.match_indices(phrase)
        .any(|(at, _)| at_word_boundaries(text, at, at + phrase.len(), open_ended))
}

/// A trailing '*' makes the last word a prefix ("interessat*": interessato, interessata).
fn open_ended(phrase: &str) -> (&str, bool) {
    match phrase.strip_suffix('*') {
        Some(prefix) => (prefix, true),
        None => (phrase, false),
    }
}

/// Whether `text[start..end]` starts a word and, unless `open_ended`, ends one.
fn at_word_boundaries(text: &str, start: usize, end: usize, open_ended: bool) -> bool {
    let before_ok = text[..start]
        .chars()
        .next_back()
        .is_none_or(|c| !c.is_alphanumeric());
    let after_ok = open_ended
        || text[end..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric());
    before_ok && after_ok
}

/// A built-in phrase list, normalised once and searched in one pass (Aho-Corasick) instead of
/// once per phrase: the planner reads every candidate message at every plan (issue 4's 100k
/// mailbox spent a third of `candor plan` normalising and searching phrase by phrase).
struct PhraseSet {
    /// The normalised phrases without their '*', and whether each is open-ended.
    phrases: Vec<(String, bool)>,
    automaton: aho_corasick::AhoCorasick,
}

impl PhraseSet {
    fn new(list: &[&str]) -> PhraseSet {
        let phrases: Vec<(String, bool)> = list
            .iter()
            .map(|p| {
                let normalised = normalise(p);
                let (phrase, open) = open_ended(&normalised);
                (phrase.to_owned(), open)
            })
            .filter(|(p, _)| !p.is_empty())
            .collect();
        let automaton = aho_corasick::AhoCorasick::new(phrases.iter().map(|(p, _)| p))
            .expect("the built-in phrases make a small automaton");
        PhraseSet { phrases, automaton }
    }

    /// The phrases found in `text` (normalised) at word boundaries, by index, in text order.
    fn found<'a>(&'a self, text: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.automaton
            .find_overlapping_iter(text)
            .filter(move |m| {
                let open = self.phrases[m.pattern().as_usize()].1;
                at_word_boundaries(text, m.start(), m.end(), open)
            })
            .map(|m| m.pattern().as_usize())
    }

    fn any_in(&self, text: &str) -> bool {
        self.found(text).next().is_some()
    }
}

static QUESTIONS: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::new(QUESTION_PHRASES));
static CLOSINGS: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::new(CLOSING_PHRASES));
static OPT_OUTS_CLEAR: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet::new(OPT_OUT_CLEAR));
static OPT_OUTS_AMBIGUOUS: LazyLock<PhraseSet> =
    LazyLock::new(|| PhraseSet::new(OPT_OUT_AMBIGUOUS));

/// The account's own phrases (few), phrase by phrase.
fn any_extra(text: &str, extra: &[String]) -> bool {
    extra.iter().any(|p| contains_phrase(text, &normalise(p)))
}

/// Whether the new text asks something: a question mark or a polite request form.
pub fn asks_something(new_text: &str) -> bool {
    let text = normalise(new_text);
    text.contains('?') || text.contains('¿') || QUESTIONS.any_in(&text)
}

/// Whether the new text reads as a closing (defaults plus the account's `extra` phrases).
pub fn reads_as_closing(new_text: &str, extra: &[String]) -> bool {
    let text = normalise(new_text);
    CLOSINGS.any_in(&text) || any_extra(&text, extra)
}

/// What the candidate's new text says about further mail (defaults plus `extra` clear phrases).
///
/// Ambiguous phrases are cut out before the clear ones are looked for: "not interested at the
/// moment" is ambiguous although it contains "not interested", while "not interested, stop
/// emailing me; maybe later" is still a clear request.
pub fn opt_out(new_text: &str, extra: &[String]) -> OptOut {
    let mut text = normalise(new_text);
    let mut found: Vec<usize> = OPT_OUTS_AMBIGUOUS.found(&text).collect();
    found.sort_unstable();
    found.dedup();
    let ambiguous = !found.is_empty();
    for index in found {
        text = text.replace(&OPT_OUTS_AMBIGUOUS.phrases[index].0, " ");
    }
    if OPT_OUTS_CLEAR.any_in(&text) || any_extra(&text, extra) {
        OptOut::Clear
    } else if ambiguous {
        OptOut::Ambiguous
    } else {
        OptOut::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `normalise` as it was written first (map, lowercase, split and join).
    fn normalise_reference(text: &str) -> String {
        let mapped: String = text
            .chars()
            .map(|c| match c {
                '\u{2019}' | '\u{2018}' | '`' | '\u{00b4}' => '\'',
                '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' => '-',
                other => other,
            })
            .collect::<String>()
            .to_lowercase();
        mapped.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    const TEXTS: &[&str] = &[
        "",
        "   ",
        "  Hello\t\tWORLD \r\n ",
        "I\u{2019}m NOT interested \u{2013} stop emailing me!",
        "ΟΔΥΣΣΕΥΣ and ΣΑΣ: final sigma",
        "Would you be open to a call? Let me know.",
        "spare you the details",
        "Könnten Sie mir Bescheid geben? Viel Erfolg!",
        "Sarebbe interessata a un colloquio?",
        "Sarebbe interessat",
        "Not right now. Maybe later, not interested at the moment.",
        "unsubscribeunsubscribe unsubscribe",
        "good luckgood luck",
        "Je ne suis pas intéressé, ne me contactez plus.",
        "İstanbul KELVIN \u{212a} straße",
        "a\u{00a0}b\u{2003}c\u{3000}d",
    ];

    /// The one-pass `normalise` gives what the first one gave, and each phrase set finds what
    /// the phrase-by-phrase search found.
    #[test]
    fn one_pass_reading_matches_phrase_by_phrase_reading() {
        let lists: [(&PhraseSet, &[&str]); 4] = [
            (&QUESTIONS, QUESTION_PHRASES),
            (&CLOSINGS, CLOSING_PHRASES),
            (&OPT_OUTS_CLEAR, OPT_OUT_CLEAR),
            (&OPT_OUTS_AMBIGUOUS, OPT_OUT_AMBIGUOUS),
        ];
        let mut texts: Vec<String> = TEXTS.iter().map(|t| t.to_string()).collect();
        // Every phrase alone, inside a word, at the end of one, and between others.
        for (_, list) in lists {
            for phrase in list {
                let bare = phrase.trim_end_matches('*');
                texts.push(bare.to_owned());
                texts.push(format!("x{bare}"));
                texts.push(format!("{bare}x and more"));
                texts.push(format!("Hi, {}. Thanks", bare.to_uppercase()));
            }
        }
        for text in &texts {
            let normalised = normalise(text);
            assert_eq!(normalised, normalise_reference(text), "{text:?}");
            for (set, list) in lists {
                let one_by_one = list
                    .iter()
                    .any(|p| contains_phrase(&normalised, &normalise_reference(p)));
                assert_eq!(set.any_in(&normalised), one_by_one, "{text:?}");
            }
        }
    }
}
