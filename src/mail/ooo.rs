//! The return date of an out-of-office reply, in the seven languages of SPEC §6 and the usual
//! numeric forms. Liberal and cheap: a scan for date mentions, then a choice among them.

use jiff::civil::Date;

/// Dates more than this far after the message are not return dates (a signature's copyright
/// year, a conference next year).
const MAX_DAYS_AHEAD: i64 = 400;

/// How far before a date a return keyword may stand ("back on Monday, 3 March").
const KEYWORD_WINDOW_BYTES: usize = 80;

/// The return date announced in an auto-reply: the latest plausible date mentioned near a return
/// keyword ("back", "bis", "jusqu'au", ...), else the latest plausible date at all. Dates
/// without a year are the next such date on or after `sent`; dates before `sent` are ignored.
pub fn ooo_return_date(subject: &str, text: &str, sent: Date) -> Option<Date> {
    let haystack = format!("{subject}\n{text}").to_lowercase();
    let keywords = keyword_positions(&haystack);
    let mut best_near_keyword: Option<Date> = None;
    let mut best_any: Option<Date> = None;
    for (position, mention) in find_dates(&haystack) {
        let Some(date) = mention.resolve(sent) else {
            continue;
        };
        let ahead = sent
            .until(date)
            .map(|span| span.get_days())
            .unwrap_or(i32::MAX);
        if date < sent || i64::from(ahead) > MAX_DAYS_AHEAD {
            continue;
        }
        let near = keywords.iter().any(|&k| {
            k <= position
                && position - k <= KEYWORD_WINDOW_BYTES
                && !haystack.get(k..position).is_some_and(ends_a_sentence)
        });
        if near {
            best_near_keyword = best_near_keyword.max(Some(date));
        }
        best_any = best_any.max(Some(date));
    }
    best_near_keyword.or(best_any)
}

/// A date as written: the year may be missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mention {
    year: Option<i16>,
    month: i8,
    day: i8,
}

impl Mention {
    fn resolve(self, sent: Date) -> Option<Date> {
        match self.year {
            Some(year) => Date::new(year, self.month, self.day).ok(),
            None => {
                let this_year = Date::new(sent.year(), self.month, self.day).ok();
                match this_year {
                    Some(date) if date >= sent => Some(date),
                    _ => Date::new(sent.year().checked_add(1)?, self.month, self.day).ok(),
                }
            }
        }
    }
}

/// Whether a stretch of text crosses a sentence end: a keyword in one sentence says nothing
/// about a date in the next.
fn ends_a_sentence(between: &str) -> bool {
    [". ", ".\n", "! ", "? ", "\n\n"]
        .iter()
        .any(|end| between.contains(end))
}

const KEYWORDS: &[&str] = &[
    // EN
    "back",
    "return",
    "until",
    "till",
    "through",
    "resume",
    "in the office",
    // DE
    "bis",
    "zurück",
    "wieder",
    "ab dem",
    "ab ",
    // FR
    "retour",
    "jusqu",
    "à partir",
    "a partir",
    "reprendrai",
    "de nouveau",
    // ES
    "vuelta",
    "regreso",
    "hasta",
    "volveré",
    "volvere",
    "regresaré",
    // IT
    "rientr",
    "fino al",
    "ritorno",
    "torner",
    "dal ",
    // NL
    "terug",
    "tot en met",
    "t/m",
    "vanaf",
    "weer",
    // SV
    "tillbaka",
    "till och med",
    "t.o.m",
    "åter",
    "från och med",
];

fn keyword_positions(haystack: &str) -> Vec<usize> {
    let mut positions = Vec::new();
    for keyword in KEYWORDS {
        positions.extend(haystack.match_indices(keyword).map(|(at, _)| at));
    }
    positions
}

const MONTHS: &[(&str, i8)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("janv", 1),
    ("enero", 1),
    ("gennaio", 1),
    ("januari", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("fevr", 2),
    ("febrero", 2),
    ("febbraio", 2),
    ("februari", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("maerz", 3),
    ("mär", 3),
    ("mrz", 3),
    ("mars", 3),
    ("marzo", 3),
    ("maart", 3),
    ("mrt", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("avr", 4),
    ("abril", 4),
    ("aprile", 4),
    ("may", 5),
    ("mai", 5),
    ("mayo", 5),
    ("maggio", 5),
    ("mei", 5),
    ("maj", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("junio", 6),
    ("giugno", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("juil", 7),
    ("julio", 7),
    ("luglio", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("agosto", 8),
    ("augustus", 8),
    ("augusti", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("septiembre", 9),
    ("setiembre", 9),
    ("settembre", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("octubre", 10),
    ("ottobre", 10),
    ("ott", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("noviembre", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
    ("diciembre", 12),
    ("dicembre", 12),
    ("dic", 12),
];

/// The first letters of the names in [`MONTHS`] and their lengths in bytes: most words are no
/// month, and comparing each with every name was most of an auto-reply's parse (issue 4).
const MONTH_FIRST_BYTES: &[u8] = b"adefgjlmnos";
const MONTH_LENGTHS: std::ops::RangeInclusive<usize> = 3..=10;

fn month_of(word: &str) -> Option<i8> {
    let first = *word.as_bytes().first()?;
    if !MONTH_LENGTHS.contains(&word.len()) || !MONTH_FIRST_BYTES.contains(&first) {
        return None;
    }
    MONTHS
        .iter()
        .find(|(name, _)| *name == word)
        .map(|&(_, m)| m)
}

/// A word token and where it starts.
struct Token<'a> {
    at: usize,
    word: &'a str,
}

fn tokens(haystack: &str) -> Vec<Token<'_>> {
    // About one word in six bytes of text: sized once rather than grown.
    let mut out = Vec::with_capacity(haystack.len() / 6);
    let mut start: Option<usize> = None;
    for (i, c) in haystack.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push(Token {
                at: s,
                word: &haystack[s..i],
            });
        }
    }
    if let Some(s) = start {
        out.push(Token {
            at: s,
            word: &haystack[s..],
        });
    }
    out
}

/// "3", "3rd", "1st", "1er", "21st" → a day of month.
fn day_of(word: &str) -> Option<i8> {
    let digits: &str = word.trim_end_matches(|c: char| c.is_alphabetic());
    let suffix = &word[digits.len()..];
    if digits.is_empty()
        || digits.len() > 2
        || !["", "st", "nd", "rd", "th", "er", "e", "o", "º"].contains(&suffix)
    {
        return None;
    }
    let day: i8 = digits.parse().ok()?;
    (1..=31).contains(&day).then_some(day)
}

fn year_of(word: &str) -> Option<i16> {
    let year: i16 = word.parse().ok()?;
    (word.len() == 4 && (1900..=2200).contains(&year)).then_some(year)
}

/// Filler words between a day and its month or year: "3 de marzo", "le 3", "3rd of March".
const FILLERS: &[&str] = &["de", "del", "of", "the", "den", "il", "le", "el"];

/// Every date mention with its byte position: numeric forms and day/month-name forms.
fn find_dates(haystack: &str) -> Vec<(usize, Mention)> {
    let mut found = numeric_dates(haystack);
    let tokens = tokens(haystack);
    let skip_fillers = |mut i: usize| {
        while tokens.get(i).is_some_and(|t| FILLERS.contains(&t.word)) {
            i += 1;
        }
        i
    };
    for (i, token) in tokens.iter().enumerate() {
        let Some(month) = month_of(token.word) else {
            continue;
        };
        // Day before the month: "3 March", "3. März", "3 de marzo".
        let mut before = i;
        while before > 0 && FILLERS.contains(&tokens[before - 1].word) {
            before -= 1;
        }
        let day_before = before
            .checked_sub(1)
            .and_then(|j| Some((j, day_of(tokens[j].word)?)));
        let (start, day, after) = match day_before {
            Some((j, day)) => (tokens[j].at, day, i + 1),
            // Month first: "March 3rd, 2026".
            None => match tokens.get(i + 1).and_then(|t| day_of(t.word)) {
                Some(day) => (token.at, day, i + 2),
                None => continue,
            },
        };
        let year = tokens
            .get(skip_fillers(after))
            .and_then(|t| year_of(t.word));
        found.push((start, Mention { year, month, day }));
    }
    found
}

/// `2026-03-14`, `14.03.2026`, `14/03/26`, `14.03.`, `14/3`: day first unless that is impossible
/// (then month first, US style).
fn numeric_dates(haystack: &str) -> Vec<(usize, Mention)> {
    let bytes = haystack.as_bytes();
    let mut found = Vec::new();
    let number_at = |i: usize| -> (usize, u32) {
        let len = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let value = haystack[i..i + len].parse().unwrap_or(u32::MAX);
        (len, value)
    };
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit()
            || (i > 0 && (bytes[i - 1].is_ascii_digit() || bytes[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let start = i;
        let (len1, n1) = number_at(i);
        i += len1;
        let Some(&sep) = bytes.get(i).filter(|b| matches!(b, b'.' | b'/' | b'-')) else {
            continue;
        };
        if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            continue;
        }
        let (len2, n2) = number_at(i + 1);
        let mut end = i + 1 + len2;
        let mut n3 = None;
        if bytes.get(end) == Some(&sep) && bytes.get(end + 1).is_some_and(u8::is_ascii_digit) {
            let (len3, value) = number_at(end + 1);
            n3 = Some((len3, value));
            end += 1 + len3;
        }
        i = end;
        // Part of a longer dotted or dashed run (IP addresses, versions, phone numbers).
        if bytes
            .get(end)
            .is_some_and(|b| matches!(b, b'.' | b'/' | b'-'))
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
        {
            continue;
        }
        let mention = match (len1, n3) {
            (4, Some((1..=2, day))) if len2 <= 2 => Mention {
                year: i16::try_from(n1).ok(),
                month: i8::try_from(n2).unwrap_or(0),
                day: i8::try_from(day).unwrap_or(0),
            },
            (1..=2, Some((len3 @ (2 | 4), year))) if len2 <= 2 => {
                let year = if len3 == 2 { year + 2000 } else { year };
                day_month(n1, n2, i16::try_from(year).ok())
            }
            // Year-less only in the unambiguous German "14.03." or slash forms.
            (1..=2, None)
                if len2 <= 2 && (sep == b'/' || (sep == b'.' && bytes.get(end) == Some(&b'.'))) =>
            {
                day_month(n1, n2, None)
            }
            _ => continue,
        };
        if (1..=12).contains(&mention.month) && (1..=31).contains(&mention.day) {
            found.push((start, mention));
        }
    }
    found
}

fn day_month(first: u32, second: u32, year: Option<i16>) -> Mention {
    let (day, month) = if second > 12 && first <= 12 {
        (second, first)
    } else {
        (first, second)
    };
    Mention {
        year,
        month: i8::try_from(month).unwrap_or(0),
        day: i8::try_from(day).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const SENT: Date = date(2026, 3, 2);

    #[test]
    fn every_month_name_passes_the_quick_check() {
        for (name, month) in MONTHS {
            assert!(MONTH_LENGTHS.contains(&name.len()), "{name}");
            assert!(MONTH_FIRST_BYTES.contains(&name.as_bytes()[0]), "{name}");
            assert_eq!(month_of(name), Some(*month), "{name}");
        }
    }

    #[test]
    fn return_dates_in_seven_languages() {
        let table: &[(&str, Date)] = &[
            ("I am back on Monday 3 March.", date(2026, 3, 3)),
            ("I will return on March 16th, 2026.", date(2026, 3, 16)),
            (
                "Ich bin bis zum 14.03.2026 nicht im Büro.",
                date(2026, 3, 14),
            ),
            (
                "Ab dem 16. März bin ich wieder erreichbar.",
                date(2026, 3, 16),
            ),
            ("Je serai de retour le 3 mars.", date(2026, 3, 3)),
            ("Absent jusqu'au 12 avril 2026 inclus.", date(2026, 4, 12)),
            ("Estaré de vuelta el 3 de marzo.", date(2026, 3, 3)),
            ("Rientrerò il 3 marzo.", date(2026, 3, 3)),
            ("Ik ben terug op 3 maart.", date(2026, 3, 3)),
            ("Jag är tillbaka den 3 mars.", date(2026, 3, 3)),
        ];
        for (text, want) in table {
            assert_eq!(
                ooo_return_date("Out of office", text, SENT),
                Some(*want),
                "{text}"
            );
        }
    }

    #[test]
    fn numeric_forms() {
        let table: &[(&str, Option<Date>)] = &[
            ("back 2026-03-20", Some(date(2026, 3, 20))),
            ("back on 20/03/2026", Some(date(2026, 3, 20))),
            ("back on 03/20/2026 (US)", Some(date(2026, 3, 20))),
            ("zurück am 20.3.26", Some(date(2026, 3, 20))),
            ("bis 20.03. abwesend", Some(date(2026, 3, 20))),
            ("call 10.1.2.3 or +49 30-1234-5678", None),
            ("back at 14.30 today", None),
        ];
        for (text, want) in table {
            assert_eq!(ooo_return_date("", text, SENT), *want, "{text}");
        }
    }

    #[test]
    fn year_rollover_ranges_and_past_dates() {
        let december = date(2025, 12, 20);
        assert_eq!(
            ooo_return_date("", "back on 5 January", december),
            Some(date(2026, 1, 5))
        );
        assert_eq!(
            ooo_return_date("", "back on 28 December", december),
            Some(date(2025, 12, 28))
        );
        assert_eq!(
            ooo_return_date("", "I am away from 2 March until 13 March.", SENT),
            Some(date(2026, 3, 13))
        );
        assert_eq!(
            ooo_return_date("", "Du 2 mars jusqu'au 9 mars", SENT),
            Some(date(2026, 3, 9))
        );
        assert_eq!(
            ooo_return_date("", "vom 02.03.2026 bis 06.03.2026", SENT),
            Some(date(2026, 3, 6))
        );
        assert_eq!(ooo_return_date("", "back 1 February 2026", SENT), None);
        assert_eq!(
            ooo_return_date("Away until May 5", "", SENT),
            Some(date(2026, 5, 5))
        );
    }

    #[test]
    fn keywords_beat_other_dates_and_no_date_is_none() {
        let text = "Back on 9 March. Our conference on 20 May 2026 is sold out.";
        assert_eq!(ooo_return_date("", text, SENT), Some(date(2026, 3, 9)));
        assert_eq!(
            ooo_return_date("Automatic reply", "I am out of the office.", SENT),
            None
        );
        assert_eq!(ooo_return_date("", "", SENT), None);
        assert_eq!(
            ooo_return_date("", "© 2031 Example Corp. back 31.02.2026", SENT),
            None
        );
    }
}
