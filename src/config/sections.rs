//! The optional per-account tables: `[account.folders]`, `[account.scope]`, `[account.policy]`,
//! `[account.schedule]` and `[account.digest]`, each with the defaults of SPEC §13.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use toml::de::DeValue;
use toml::value::Datetime;

use super::account::checked_list;
use super::keys;
use super::reader::{Ctx, Section, Val};
use super::values::{
    check_address, check_address_or_domain, parse_date, parse_range, parse_time, parse_weekday,
};
use super::{
    Digest, DigestSchedule, Folders, Outcome, Policy, Schedule, Scope, ScopeMode, TimeRange,
};

fn non_empty_string(ctx: &mut Ctx<'_>, section: &Section<'_, '_>, key: &str) -> Option<String> {
    let value = section.string(ctx, key)?;
    if value.value.trim().is_empty() {
        ctx.report_at(
            &value,
            "must not be empty (leave the key out for the default)",
        );
        return None;
    }
    Some(value.value)
}

/// A configured folder name as candor holds folder names: the Inbox as `INBOX`, which RFC 3501
/// §5.1 makes case-insensitive (the sync holds a listed `Inbox` so too); a scope folder written
/// "Inbox" was compared with `INBOX` and matched nothing. Other names are kept as written.
fn folder_name(name: String) -> String {
    if name.eq_ignore_ascii_case("INBOX") {
        "INBOX".to_owned()
    } else {
        name
    }
}

/// A folder key: a non-empty string, as [`folder_name`] holds it.
fn folder(ctx: &mut Ctx<'_>, section: &Section<'_, '_>, key: &str) -> Option<String> {
    non_empty_string(ctx, section, key).map(folder_name)
}

pub(super) fn build_folders(ctx: &mut Ctx<'_>, account: &Section<'_, '_>) -> Folders {
    let Some(section) = account.table(ctx, "folders", keys::FOLDERS) else {
        return Folders {
            sent: None,
            drafts: None,
            hold: None,
            outcomes: BTreeMap::new(),
        };
    };
    let mut outcomes = BTreeMap::new();
    if let Some(table) = section.table(ctx, "outcomes", keys::OUTCOMES) {
        for outcome in <Outcome as super::Choice>::ALL {
            if let Some(folder) = folder(ctx, &table, outcome.as_str()) {
                outcomes.insert(*outcome, folder);
            }
        }
    }
    Folders {
        sent: folder(ctx, &section, "sent"),
        drafts: folder(ctx, &section, "drafts"),
        hold: folder(ctx, &section, "hold"),
        outcomes,
    }
}

pub(super) fn build_scope(ctx: &mut Ctx<'_>, account: &Section<'_, '_>) -> Scope {
    let Some(section) = account.table(ctx, "scope", keys::SCOPE) else {
        return Scope {
            mode: ScopeMode::All,
            mode_explicit: false,
            folders: Vec::new(),
            exclude: Vec::new(),
            aliases: Vec::new(),
        };
    };
    let mode_val = section.choice::<ScopeMode>(ctx, "mode");
    // An invalid mode was written, so it counts as explicit: its own problem is already reported.
    let mode_explicit = section.raw("mode").is_some();
    let mode = mode_val.as_ref().map_or(ScopeMode::All, |m| m.value);
    let folders_val = section.string_list(ctx, "folders");
    let mut folders = Vec::new();
    if let Some(list) = &folders_val {
        for item in &list.value {
            if item.value.trim().is_empty() {
                ctx.report_at(item, "empty folder name");
            } else {
                folders.push(folder_name(item.value.clone()));
            }
        }
    }
    if let Some(mode) = &mode_val
        && mode.value == ScopeMode::Folders
        && folders.is_empty()
    {
        ctx.report_at(
            mode,
            "scope mode \"folders\" needs a non-empty scope.folders list (e.g. [\"Candidates\"])",
        );
    }
    let exclude = section
        .string_list(ctx, "exclude")
        .map(|list| checked_list(ctx, list.value, check_address_or_domain))
        .unwrap_or_default();
    let mut aliases = Vec::new();
    for group in section.string_list_list(ctx, "aliases") {
        if group.len() < 2 {
            let at = group
                .first()
                .map_or_else(
                    || section.raw("aliases").map(|v| v.span),
                    |v| Some(v.span.clone()),
                )
                .unwrap_or_else(|| section.span.clone());
            ctx.report(
                &at,
                &section.key_path("aliases"),
                "an alias group lists at least two addresses of the same person",
            );
        }
        aliases.push(checked_list(ctx, group, check_address));
    }
    Scope {
        mode,
        mode_explicit,
        folders,
        exclude,
        aliases,
    }
}

fn phrases(ctx: &mut Ctx<'_>, section: &Section<'_, '_>, key: &str) -> Vec<String> {
    let Some(list) = section.string_list(ctx, key) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in list.value {
        let phrase = item.value.trim();
        if phrase.is_empty() {
            ctx.report_at(&item, "empty phrase (it would match every message)");
        } else {
            out.push(phrase.to_owned());
        }
    }
    out
}

pub(super) fn build_policy(ctx: &mut Ctx<'_>, account: &Section<'_, '_>) -> Policy {
    let section = account.table(ctx, "policy", keys::POLICY);
    let Some(s) = section else {
        return Policy {
            act_on_existing: false,
            follow_up_after_days: 5,
            max_follow_ups: 2,
            closure_after_days: 7,
            cancel_window_hours: 24,
            recruiter_sla_days: 2,
            closing_phrases: Vec::new(),
            opt_out_phrases: Vec::new(),
        };
    };
    Policy {
        act_on_existing: s.boolean(ctx, "act_on_existing", false),
        follow_up_after_days: s.number(ctx, "follow_up_after_days", 1, 365, 5),
        // SPEC §8 has two follow-up kinds (`follow_up_1`, `follow_up_2`): more would be taken
        // and silently not sent (found in review).
        max_follow_ups: s.number(ctx, "max_follow_ups", 0, 2, 2),
        closure_after_days: s.number(ctx, "closure_after_days", 0, 365, 7),
        cancel_window_hours: s.number(ctx, "cancel_window_hours", 0, 24 * 365, 24),
        recruiter_sla_days: s.number(ctx, "recruiter_sla_days", 0, 365, 2),
        closing_phrases: phrases(ctx, &s, "closing_phrases"),
        opt_out_phrases: phrases(ctx, &s, "opt_out_phrases"),
    }
}

/// TOML's own date and time literals (`2026-12-25`, `08:00:00`) as the text our parsers read.
fn datetime_text(datetime: &Datetime) -> String {
    match (datetime.date, datetime.time, datetime.offset) {
        (Some(d), None, None) => format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
        (None, Some(t), None) if t.second.unwrap_or(0) == 0 && t.nanosecond.unwrap_or(0) == 0 => {
            format!("{:02}:{:02}", t.hour, t.minute)
        }
        _ => datetime.to_string(),
    }
}

/// A string or a TOML date/time literal; wrong types reported.
fn text_or_datetime(
    ctx: &mut Ctx<'_>,
    val: Val<&DeValue<'_>>,
    expected: &str,
) -> Option<Val<String>> {
    let text = match val.value {
        DeValue::String(s) => s.to_string(),
        DeValue::Datetime(d) => datetime_text(d),
        _ => {
            ctx.report_at(&val, format!("expected {expected}"));
            return None;
        }
    };
    Some(Val {
        value: text,
        span: val.span,
        key: val.key,
    })
}

fn parsed<T>(
    ctx: &mut Ctx<'_>,
    val: Option<Val<String>>,
    parse: fn(&str) -> Result<T, String>,
) -> Option<T> {
    let val = val?;
    match parse(&val.value) {
        Ok(value) => Some(value),
        Err(message) => {
            ctx.report_at(&val, message);
            None
        }
    }
}

fn weekdays(ctx: &mut Ctx<'_>, section: &Section<'_, '_>) -> Option<Vec<Weekday>> {
    let list = section.string_list(ctx, "business_days")?;
    if list.value.is_empty() {
        ctx.report_at(&list, "needs at least one weekday");
    }
    let mut days: Vec<Weekday> = Vec::new();
    for item in &list.value {
        match parse_weekday(&item.value) {
            Ok(day) if days.contains(&day) => {
                ctx.report_at(item, format!("{:?} is listed twice", item.value));
            }
            Ok(day) => days.push(day),
            Err(message) => ctx.report_at(item, message),
        }
    }
    days.sort_by_key(|d| d.to_monday_zero_offset());
    Some(days)
}

fn holidays(ctx: &mut Ctx<'_>, section: &Section<'_, '_>) -> Vec<Date> {
    let Some(list) = section.raw("holidays") else {
        return Vec::new();
    };
    let DeValue::Array(items) = list.value else {
        ctx.report_at(&list, "expected an array of dates such as [\"2026-12-25\"]");
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let val = Val {
            value: item.get_ref(),
            span: item.span(),
            key: format!("{}[{i}]", list.key),
        };
        let text = text_or_datetime(ctx, val, "a date such as \"2026-12-25\"");
        if let Some(date) = parsed(ctx, text, parse_date) {
            out.push(date);
        }
    }
    out.sort();
    out.dedup();
    out
}

pub(super) fn build_schedule(ctx: &mut Ctx<'_>, account: &Section<'_, '_>) -> Schedule {
    let office = TimeRange {
        start_minute: 9 * 60,
        end_minute: 17 * 60,
    };
    let weekdays_default = vec![
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
    ];
    let Some(s) = account.table(ctx, "schedule", keys::SCHEDULE) else {
        return Schedule {
            business_days: weekdays_default,
            work_hours: office,
            send_hours: office,
            holidays: Vec::new(),
            daily_cap: 50,
        };
    };
    let work_hours = s.string(ctx, "work_hours");
    let send_hours = s.string(ctx, "send_hours");
    Schedule {
        business_days: weekdays(ctx, &s).unwrap_or(weekdays_default),
        work_hours: parsed(ctx, work_hours, parse_range).unwrap_or(office),
        send_hours: parsed(ctx, send_hours, parse_range).unwrap_or(office),
        holidays: holidays(ctx, &s),
        daily_cap: s.number(ctx, "daily_cap", 0, 100_000, 50),
    }
}

pub(super) fn build_digest(
    ctx: &mut Ctx<'_>,
    account: &Section<'_, '_>,
    first_owner: &str,
) -> Digest {
    let eight = Time::constant(8, 0, 0, 0);
    let Some(s) = account.table(ctx, "digest", keys::DIGEST) else {
        return Digest {
            schedule: DigestSchedule::Daily,
            at: eight,
            day: Weekday::Monday,
            to: first_owner.to_owned(),
        };
    };
    let schedule = s
        .choice::<DigestSchedule>(ctx, "schedule")
        .map_or(DigestSchedule::Daily, |v| v.value);
    let at = s
        .raw("at")
        .and_then(|v| text_or_datetime(ctx, v, "a time such as \"08:00\""));
    let day = s.string(ctx, "day");
    let to = s.string(ctx, "to");
    Digest {
        schedule,
        at: parsed(ctx, at, parse_time).unwrap_or(eight),
        // Accepted with any schedule (SPEC: "weekly only"), so a switch to weekly keeps it.
        day: parsed(ctx, day, parse_weekday).unwrap_or(Weekday::Monday),
        to: parsed(ctx, to, check_address).unwrap_or_else(|| first_owner.to_owned()),
    }
}
