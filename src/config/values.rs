//! Checks and parsers for single configuration values: addresses, domains, times, dates,
//! weekdays, hosts and `${VAR}` expansion. Each returns the lowercase problem message on error.

use jiff::civil::{Date, Time, Weekday};

use super::TimeRange;

/// Characters that never belong in an address we write into a header.
fn is_forbidden_address_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
}

/// A pragmatic domain check: labels separated by dots, at least one dot unless `localhost`.
pub(crate) fn check_domain(raw: &str) -> Result<String, String> {
    let domain = raw.trim().to_ascii_lowercase();
    if domain.is_empty() {
        return Err("empty domain".to_owned());
    }
    if domain
        .chars()
        .any(|c| is_forbidden_address_char(c) || c == '@')
    {
        return Err(format!(
            "{raw:?} is not a domain (no spaces, '@' or punctuation)"
        ));
    }
    if domain != "localhost" && !domain.contains('.') {
        return Err(format!(
            "{raw:?} is not a domain: it needs a dot (or is localhost)"
        ));
    }
    if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
        return Err(format!("{raw:?} is not a domain: empty label"));
    }
    Ok(domain)
}

/// A pragmatic address check (one `@`, a local part, a plausible domain); returns it lowercased.
pub(crate) fn check_address(raw: &str) -> Result<String, String> {
    if raw.chars().any(is_forbidden_address_char) {
        return Err(format!(
            "{raw:?} is not an email address: no spaces, line breaks, '<', '>' or ','"
        ));
    }
    let Some((local, domain)) = raw.split_once('@') else {
        return Err(format!("{raw:?} is not an email address: it needs an '@'"));
    };
    if domain.contains('@') {
        return Err(format!(
            "{raw:?} is not an email address: more than one '@'"
        ));
    }
    if local.is_empty() {
        return Err(format!("{raw:?} is not an email address: empty local part"));
    }
    check_domain(domain)
        .map_err(|_| format!("{raw:?} is not an email address: bad domain {domain:?}"))?;
    Ok(raw.to_lowercase())
}

/// An entry of `scope.exclude`: an address (lowercased) or a bare domain.
pub(crate) fn check_address_or_domain(raw: &str) -> Result<String, String> {
    if let Some(domain) = raw.strip_prefix('@')
        && !domain.contains('@')
        && check_domain(domain).is_ok()
    {
        return Err(format!(
            "{raw:?} is not an email address: for the whole domain write {domain:?}, without '@'"
        ));
    }
    if raw.contains('@') {
        check_address(raw)
    } else {
        check_domain(raw).map_err(|_| format!("{raw:?} is neither an email address nor a domain"))
    }
}

/// Account names appear in headers (`X-Candor: ...; account=NAME`) and on the command line.
pub(super) fn check_account_name(raw: &str) -> Result<(), String> {
    let ok = !raw.is_empty()
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{raw:?} is not a valid account name: use lowercase letters, digits, '_' and '-'"
        ))
    }
}

/// `HH:MM` to minutes since midnight; `24:00` only where it ends a range.
pub(super) fn parse_hhmm(raw: &str, allow_end_of_day: bool) -> Result<u16, String> {
    let bad = || format!("{raw:?} is not a time: write HH:MM, e.g. \"09:00\"");
    let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    let hour: u16 = h.parse().map_err(|_| bad())?;
    let minute: u16 = m.parse().map_err(|_| bad())?;
    if minute > 59 {
        return Err(bad());
    }
    if hour == 24 && minute == 0 && allow_end_of_day {
        return Ok(24 * 60);
    }
    if hour > 23 {
        return Err(if allow_end_of_day {
            format!("{raw:?} is not a time: hours run from 00 to 23 (24:00 only as an end)")
        } else {
            format!("{raw:?} is not a time: hours run from 00 to 23")
        });
    }
    Ok(hour * 60 + minute)
}

/// `HH:MM` as a civil time (the digest hour).
pub(super) fn parse_time(raw: &str) -> Result<Time, String> {
    let minutes = parse_hhmm(raw, false)?;
    let (hour, minute) = (minutes / 60, minutes % 60);
    // Both fit in i8 and are in range: parse_hhmm checked hour < 24 and minute < 60.
    Time::new(hour as i8, minute as i8, 0, 0).map_err(|e| format!("{raw:?} is not a time: {e}"))
}

/// `"09:00-17:00"`: start before end, `24:00` allowed as the end.
pub(super) fn parse_range(raw: &str) -> Result<TimeRange, String> {
    let Some((start, end)) = raw.split_once('-') else {
        return Err(format!(
            "{raw:?} is not a time range: write \"HH:MM-HH:MM\", e.g. \"09:00-17:00\""
        ));
    };
    let start_minute = parse_hhmm(start, false)?;
    let end_minute = parse_hhmm(end, true)?;
    if start_minute >= end_minute {
        return Err(format!(
            "{raw:?} is an empty range: the start must be before the end (\"00:00-24:00\" is all day)"
        ));
    }
    Ok(TimeRange {
        start_minute,
        end_minute,
    })
}

/// `YYYY-MM-DD`, a real calendar date. Also the command line's dates: jiff's own parser takes a
/// date-time too and drops its time.
pub(crate) fn parse_date(raw: &str) -> Result<Date, String> {
    let bad = || format!("{raw:?} is not a date: write YYYY-MM-DD, e.g. \"2026-12-25\"");
    let bytes = raw.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return Err(bad());
    }
    let year: i16 = raw[0..4].parse().map_err(|_| bad())?;
    let month: i8 = raw[5..7].parse().map_err(|_| bad())?;
    let day: i8 = raw[8..10].parse().map_err(|_| bad())?;
    Date::new(year, month, day).map_err(|_| format!("{raw:?} is not a date in the calendar"))
}

/// `mon`..`sun` (or the full English name), case-insensitive.
pub(super) fn parse_weekday(raw: &str) -> Result<Weekday, String> {
    let day = match raw.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Monday,
        "tue" | "tuesday" => Weekday::Tuesday,
        "wed" | "wednesday" => Weekday::Wednesday,
        "thu" | "thursday" => Weekday::Thursday,
        "fri" | "friday" => Weekday::Friday,
        "sat" | "saturday" => Weekday::Saturday,
        "sun" | "sunday" => Weekday::Sunday,
        _ => {
            return Err(format!(
                "{raw:?} is not a weekday: use mon, tue, wed, thu, fri, sat or sun"
            ));
        }
    };
    Ok(day)
}

/// Hosts where a plaintext connection never leaves the machine: `localhost`, 127.0.0.0/8, ::1.
pub(super) fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// A host name or address we can connect to: not empty, no spaces or control characters, and
/// no port or brackets. The host is looked up as written, with `port` beside it: found in
/// review, `imap.example.com:993` and `[::1]` passed `check-config` and then failed every
/// connection with a name lookup error.
pub(super) fn check_host(raw: &str) -> Result<(), String> {
    if raw.trim().is_empty() {
        return Err("empty host name".to_owned());
    }
    if raw
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        return Err(format!("{raw:?} is not a host name"));
    }
    if let Some(bare) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']'))
        && bare.parse::<std::net::Ipv6Addr>().is_ok()
    {
        return Err(format!(
            "{raw:?} is not a host name: write an IPv6 address without brackets ({bare:?})"
        ));
    }
    if raw.contains(['[', ']']) {
        return Err(format!("{raw:?} is not a host name"));
    }
    if raw.contains(':') && raw.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(format!(
            "{raw:?} is not a host name: give the port in `port`, the host alone in `host`"
        ));
    }
    Ok(())
}

fn is_var_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_var_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands `${VAR}` and `$VAR`; `$$` is a literal `$`, and a `$` not followed by a name stays
/// as it is. An unset or empty variable is an error naming it (an empty
/// `${CREDENTIALS_DIRECTORY}` would silently turn `/jane-smtp` into a path at the root).
pub(super) fn expand_env(
    raw: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            let Some(close) = braced.find('}') else {
                return Err(format!("unclosed \"${{\" in {raw:?}"));
            };
            let name = &braced[..close];
            let valid =
                name.chars().next().is_some_and(is_var_start) && name.chars().all(is_var_char);
            if !valid {
                return Err(format!("{:?} is not an environment variable name", name));
            }
            (name, close + 2)
        } else if let Some(literal) = after.strip_prefix('$') {
            out.push('$');
            rest = literal;
            continue;
        } else if after.chars().next().is_some_and(is_var_start) {
            let len = after.find(|c: char| !is_var_char(c)).unwrap_or(after.len());
            (&after[..len], len)
        } else {
            out.push('$');
            rest = after;
            continue;
        };
        match env(name).filter(|value| !value.is_empty()) {
            Some(value) => out.push_str(&value),
            None => return Err(format!("environment variable {name} is not set")),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}
