//! Business time in the account's zone (SPEC §5, §6, §13 `[account.schedule]`): working seconds
//! between two instants, business-day arithmetic for the policy, send windows. Pure: every
//! instant comes in as an argument.
//!
//! Local times are turned into instants with jiff's "compatible" rule: a time skipped by a DST
//! jump forward maps to the instant after the gap, a repeated time to its first occurrence. Work
//! hours are measured as real elapsed seconds, so a 00:00-24:00 day lasts 23 or 25 hours on DST
//! change days.
//!
//! When no day is a business day (an empty `business_days`, or holidays for a decade), the
//! searching functions give [`Timestamp::MAX`]: "never", which a caller comparing with `now`
//! treats as not yet due.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;

/// How many days a search for the next business day may look ahead before giving up.
const MAX_SEARCH_DAYS: u32 = 3700;

/// Minutes in a day: a window or work-hours end of 1440 means midnight at the end of the day.
pub const MINUTES_PER_DAY: u16 = 1440;

/// The account's working week, hours and holidays in its time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    pub tz: TimeZone,
    pub business_days: Vec<Weekday>,
    /// Start of work, minutes after local midnight.
    pub work_start_minute: u16,
    /// End of work, minutes after local midnight; may be 1440.
    pub work_end_minute: u16,
    pub holidays: Vec<Date>,
}

impl BusinessCalendar {
    /// Working seconds in `[start, end)`: the parts of business days between work start and end,
    /// holidays excluded, DST-correct. Zero when `end <= start`.
    pub fn business_seconds(&self, start: Timestamp, end: Timestamp) -> i64 {
        if end <= start || self.work_start_minute >= self.work_end_minute {
            return 0;
        }
        let last_day = self.tz.to_datetime(end).date();
        let mut day = self.tz.to_datetime(start).date();
        let mut total = 0;
        loop {
            if self.is_business_day(day) {
                let open = self.local_instant(day, self.work_start_minute).max(start);
                let close = self.local_instant(day, self.work_end_minute).min(end);
                if close > open {
                    total += close.as_second() - open.as_second();
                }
            }
            match day.tomorrow() {
                Ok(next) if next <= last_day => day = next,
                _ => break,
            }
        }
        total
    }

    /// A day of the working week that is not a holiday.
    pub fn is_business_day(&self, d: Date) -> bool {
        self.business_days.contains(&d.weekday()) && !self.holidays.contains(&d)
    }

    /// The same local time of day, `days` business days later (what "after 5 business days"
    /// means to the policy). Each business day after the start's local date counts one.
    ///
    /// A start on a weekend or holiday is first moved to the start of work on the next business
    /// day: a Saturday message is treated as sent on Monday morning, so "after 1 business day" is
    /// Tuesday at work start, never Monday (nobody was at work to read it on Sunday).
    /// With `days == 0` the result is the (moved) start. A time of day skipped by DST on the
    /// target day maps to the hour after the jump.
    pub fn add_business_days(&self, start: Timestamp, days: u32) -> Timestamp {
        let local = self.tz.to_datetime(start);
        let (mut day, time) = if self.is_business_day(local.date()) {
            (local.date(), local.time())
        } else {
            match self.next_business_day(local.date()) {
                Some(d) => (d, minute_time(self.work_start_minute)),
                None => return Timestamp::MAX,
            }
        };
        for _ in 0..days {
            match self.next_business_day(day) {
                Some(d) => day = d,
                None => return Timestamp::MAX,
            }
        }
        self.to_instant(day.to_datetime(time))
    }

    /// Start of work hours on the first business day after `d` (end of an out-of-office pause).
    pub fn next_business_day_start(&self, d: Date) -> Timestamp {
        match self.next_business_day(d) {
            Some(day) => self.local_instant(day, self.work_start_minute),
            None => Timestamp::MAX,
        }
    }

    /// Whether `t` falls on a business day inside the local window `[start_minute, end_minute)`
    /// (`send_hours`); an empty or inverted window contains nothing.
    pub fn in_window(&self, t: Timestamp, start_minute: u16, end_minute: u16) -> bool {
        let local = self.tz.to_datetime(t);
        let minute = minute_of_day(local.time());
        self.is_business_day(local.date()) && start_minute <= minute && minute < end_minute
    }

    /// `t` itself when inside the window, else the next instant the window opens.
    pub fn next_window_start(&self, t: Timestamp, start_minute: u16, end_minute: u16) -> Timestamp {
        if self.in_window(t, start_minute, end_minute) {
            return t;
        }
        if start_minute >= end_minute.min(MINUTES_PER_DAY) {
            return Timestamp::MAX;
        }
        let mut day = self.tz.to_datetime(t).date();
        for _ in 0..MAX_SEARCH_DAYS {
            if self.is_business_day(day) {
                let open = self.local_instant(day, start_minute);
                // After a DST fold the opening may lie before `t` although the local clock
                // says otherwise; only a future opening counts.
                if open >= t {
                    return open;
                }
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        Timestamp::MAX
    }

    /// The first business day strictly after `d`, within the search horizon.
    fn next_business_day(&self, d: Date) -> Option<Date> {
        let mut day = d;
        for _ in 0..MAX_SEARCH_DAYS {
            day = day.tomorrow().ok()?;
            if self.is_business_day(day) {
                return Some(day);
            }
        }
        None
    }

    /// The instant of local `minute` (0..=1440) on `day`; 1440 is the next midnight.
    fn local_instant(&self, day: Date, minute: u16) -> Timestamp {
        if minute >= MINUTES_PER_DAY {
            return match day.tomorrow() {
                Ok(next) => self.to_instant(next.to_datetime(Time::midnight())),
                Err(_) => Timestamp::MAX,
            };
        }
        self.to_instant(day.to_datetime(minute_time(minute)))
    }

    fn to_instant(&self, local: DateTime) -> Timestamp {
        // Out of range only at the ends of jiff's calendar: clamp rather than fail.
        self.tz
            .to_ambiguous_timestamp(local)
            .compatible()
            .unwrap_or_else(|_| {
                if local.date().year() < 0 {
                    Timestamp::MIN
                } else {
                    Timestamp::MAX
                }
            })
    }
}

/// The local time of a minute of the day (clamped to 23:59 for the never-taken 1440 case).
fn minute_time(minute: u16) -> Time {
    let minute = minute.min(MINUTES_PER_DAY - 1);
    let hour = i8::try_from(minute / 60).expect("below 24");
    let minute = i8::try_from(minute % 60).expect("below 60");
    Time::constant(hour, minute, 0, 0)
}

fn minute_of_day(t: Time) -> u16 {
    u16::try_from(i32::from(t.hour()) * 60 + i32::from(t.minute())).expect("below 1440")
}

#[cfg(test)]
mod tests;
