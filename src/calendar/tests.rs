//! Business calendar tables: weekends, holidays, DST in Europe/Berlin and America/New_York.

use super::*;
use jiff::civil::Weekday::*;

const WEEKDAYS: &[Weekday] = &[Monday, Tuesday, Wednesday, Thursday, Friday];
const ALL_DAYS: &[Weekday] = &[
    Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday,
];

fn calendar(
    zone: &str,
    days: &[Weekday],
    start: u16,
    end: u16,
    holidays: &[&str],
) -> BusinessCalendar {
    BusinessCalendar {
        tz: TimeZone::get(zone).expect("zone in the bundled tzdb"),
        business_days: days.to_vec(),
        work_start_minute: start,
        work_end_minute: end,
        holidays: holidays
            .iter()
            .map(|d| d.parse().expect("test date"))
            .collect(),
    }
}

fn office(zone: &str) -> BusinessCalendar {
    calendar(
        zone,
        WEEKDAYS,
        9 * 60,
        17 * 60,
        &["2026-12-25", "2026-12-26"],
    )
}

/// A local civil time in the calendar's zone.
fn local(cal: &BusinessCalendar, civil: &str) -> Timestamp {
    let dt: DateTime = civil.parse().expect("test datetime");
    cal.tz.to_timestamp(dt).expect("test datetime in range")
}

fn utc(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

#[test]
fn business_seconds_table() {
    let berlin = office("Europe/Berlin");
    let berlin_all = calendar("Europe/Berlin", ALL_DAYS, 0, 1440, &[]);
    let berlin_night = calendar("Europe/Berlin", ALL_DAYS, 60, 240, &[]);
    let new_york_all = calendar("America/New_York", ALL_DAYS, 0, 1440, &[]);
    let new_york = office("America/New_York");
    let h = 3600;
    let cases: Vec<(&str, &BusinessCalendar, &str, &str, i64)> = vec![
        (
            "inside one day",
            &berlin,
            "2026-03-23T10:00",
            "2026-03-23T12:00",
            2 * h,
        ),
        (
            "over a DST weekend",
            &berlin,
            "2026-03-27T16:00",
            "2026-03-30T10:00",
            2 * h,
        ),
        (
            "from before to after work",
            &berlin,
            "2026-03-23T06:00",
            "2026-03-23T20:00",
            8 * h,
        ),
        (
            "weekend only",
            &berlin,
            "2026-03-28T06:00",
            "2026-03-29T20:00",
            0,
        ),
        (
            "a whole week",
            &berlin,
            "2026-03-23T00:00",
            "2026-03-30T00:00",
            40 * h,
        ),
        (
            "holidays skipped",
            &berlin,
            "2026-12-24T10:00",
            "2026-12-28T10:00",
            8 * h,
        ),
        (
            "end before start",
            &berlin,
            "2026-03-24T10:00",
            "2026-03-23T10:00",
            0,
        ),
        (
            "evening to morning",
            &berlin,
            "2026-03-23T18:00",
            "2026-03-24T08:00",
            0,
        ),
        (
            "all day, spring forward",
            &berlin_all,
            "2026-03-29T00:00",
            "2026-03-30T00:00",
            23 * h,
        ),
        (
            "all day, fall back",
            &berlin_all,
            "2026-10-25T00:00",
            "2026-10-26T00:00",
            25 * h,
        ),
        (
            "hours spanning the gap",
            &berlin_night,
            "2026-03-29T00:00",
            "2026-03-29T12:00",
            2 * h,
        ),
        (
            "hours spanning the fold",
            &berlin_night,
            "2026-10-25T00:00",
            "2026-10-25T12:00",
            4 * h,
        ),
        (
            "NY spring forward",
            &new_york_all,
            "2026-03-08T00:00",
            "2026-03-09T00:00",
            23 * h,
        ),
        (
            "NY fall back",
            &new_york_all,
            "2026-11-01T00:00",
            "2026-11-02T00:00",
            25 * h,
        ),
        (
            "NY office over DST",
            &new_york,
            "2026-03-06T16:00",
            "2026-03-09T10:00",
            2 * h,
        ),
    ];
    for (name, cal, start, end, want) in cases {
        let got = cal.business_seconds(local(cal, start), local(cal, end));
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn add_business_days_table() {
    let berlin = office("Europe/Berlin");
    let new_york = office("America/New_York");
    let cases: Vec<(&str, &BusinessCalendar, &str, u32, &str)> = vec![
        (
            "five days keeps the local time over DST",
            &berlin,
            "2026-03-23T10:00",
            5,
            "2026-03-30T08:00:00Z",
        ),
        (
            "zero days",
            &berlin,
            "2026-03-23T10:00",
            0,
            "2026-03-23T09:00:00Z",
        ),
        (
            "Friday plus one is Monday",
            &berlin,
            "2026-03-27T16:30",
            1,
            "2026-03-30T14:30:00Z",
        ),
        (
            "Saturday moves to Monday 09:00 first",
            &berlin,
            "2026-03-28T11:00",
            1,
            "2026-03-31T07:00:00Z",
        ),
        (
            "Saturday plus zero",
            &berlin,
            "2026-03-28T11:00",
            0,
            "2026-03-30T07:00:00Z",
        ),
        (
            "holidays skipped",
            &berlin,
            "2026-12-24T10:00",
            1,
            "2026-12-28T09:00:00Z",
        ),
        (
            "start on a holiday",
            &berlin,
            "2026-12-25T10:00",
            1,
            "2026-12-29T08:00:00Z",
        ),
        (
            "evening time is kept",
            &berlin,
            "2026-03-23T22:00",
            1,
            "2026-03-24T21:00:00Z",
        ),
        (
            "NY over fall back",
            &new_york,
            "2026-10-30T14:00",
            1,
            "2026-11-02T19:00:00Z",
        ),
        (
            "NY over spring forward",
            &new_york,
            "2026-03-06T14:00",
            1,
            "2026-03-09T18:00:00Z",
        ),
    ];
    for (name, cal, start, days, want) in cases {
        assert_eq!(
            cal.add_business_days(local(cal, start), days),
            utc(want),
            "{name}"
        );
    }
}

#[test]
fn next_business_day_start_table() {
    let berlin = office("Europe/Berlin");
    let new_york = office("America/New_York");
    let cases: Vec<(&BusinessCalendar, &str, &str)> = vec![
        (&berlin, "2026-03-25", "2026-03-26T08:00:00Z"),
        (&berlin, "2026-03-27", "2026-03-30T07:00:00Z"),
        (&berlin, "2026-12-24", "2026-12-28T08:00:00Z"),
        (&new_york, "2026-10-30", "2026-11-02T14:00:00Z"),
        (&new_york, "2026-03-06", "2026-03-09T13:00:00Z"),
    ];
    for (cal, day, want) in cases {
        let day: Date = day.parse().expect("test date");
        assert_eq!(cal.next_business_day_start(day), utc(want), "{day}");
    }
}

/// (calendar, local time, window, inside, next window start in UTC)
type WindowCase<'a> = (&'a BusinessCalendar, &'a str, (u16, u16), bool, &'a str);

#[test]
fn send_window_table() {
    let berlin = office("Europe/Berlin");
    let new_york = office("America/New_York");
    let nine_to_five = (9 * 60, 17 * 60);
    let all_day = (0, 1440);
    // (calendar, local time, window, inside, next window start in UTC)
    let cases: Vec<WindowCase> = vec![
        (
            &berlin,
            "2026-03-23T08:59",
            nine_to_five,
            false,
            "2026-03-23T08:00:00Z",
        ),
        (
            &berlin,
            "2026-03-23T09:00",
            nine_to_five,
            true,
            "2026-03-23T08:00:00Z",
        ),
        (
            &berlin,
            "2026-03-23T16:59",
            nine_to_five,
            true,
            "2026-03-23T15:59:00Z",
        ),
        (
            &berlin,
            "2026-03-27T17:00",
            nine_to_five,
            false,
            "2026-03-30T07:00:00Z",
        ),
        (
            &berlin,
            "2026-03-28T12:00",
            all_day,
            false,
            "2026-03-29T22:00:00Z",
        ),
        (
            &berlin,
            "2026-03-30T00:00",
            all_day,
            true,
            "2026-03-29T22:00:00Z",
        ),
        (
            &berlin,
            "2026-03-30T23:59",
            all_day,
            true,
            "2026-03-30T21:59:00Z",
        ),
        (
            &berlin,
            "2026-10-23T18:00",
            nine_to_five,
            false,
            "2026-10-26T08:00:00Z",
        ),
        (
            &berlin,
            "2026-12-24T18:00",
            nine_to_five,
            false,
            "2026-12-28T08:00:00Z",
        ),
        (
            &new_york,
            "2026-03-07T12:00",
            nine_to_five,
            false,
            "2026-03-09T13:00:00Z",
        ),
        (
            &new_york,
            "2026-10-31T12:00",
            nine_to_five,
            false,
            "2026-11-02T14:00:00Z",
        ),
    ];
    for (cal, at, (start, end), inside, want) in cases {
        let t = local(cal, at);
        assert_eq!(cal.in_window(t, start, end), inside, "in_window {at}");
        assert_eq!(
            cal.next_window_start(t, start, end),
            utc(want),
            "next_window_start {at}"
        );
    }
}

#[test]
fn a_whole_year_of_office_hours() {
    // 2026 has 261 weekdays; 2026-12-25 is a Friday holiday, 2026-12-26 a Saturday.
    let berlin = office("Europe/Berlin");
    let year = berlin.business_seconds(
        local(&berlin, "2026-01-01T00:00"),
        local(&berlin, "2027-01-01T00:00"),
    );
    assert_eq!(year, 260 * 8 * 3600);
}

#[test]
fn degenerate_calendars_never_panic() {
    let none = calendar("Europe/Berlin", &[], 540, 1020, &[]);
    let t = utc("2026-03-23T10:00:00Z");
    assert_eq!(none.business_seconds(t, utc("2026-04-23T10:00:00Z")), 0);
    assert_eq!(none.add_business_days(t, 3), Timestamp::MAX);
    assert_eq!(
        none.next_business_day_start("2026-03-23".parse().expect("date")),
        Timestamp::MAX
    );
    assert_eq!(none.next_window_start(t, 540, 1020), Timestamp::MAX);
    let office = office("Europe/Berlin");
    assert!(!office.in_window(t, 600, 600));
    assert_eq!(office.next_window_start(t, 1020, 540), Timestamp::MAX);
    assert_eq!(office.add_business_days(Timestamp::MAX, 1), Timestamp::MAX);
    assert_eq!(office.business_seconds(Timestamp::MAX, Timestamp::MIN), 0);
    assert_eq!(
        office.next_window_start(Timestamp::MAX, 540, 1020),
        Timestamp::MAX
    );
}

/// Waits spanning weekends, holidays and DST changes, measured the way `stats` measures them
/// (`conversations::figures`: calendar latency from the store, business time from the calendar).
#[test]
fn waits_spanning_weekends_holidays_and_dst_table() {
    use crate::latency::{Direction, Wait};
    let berlin = office("Europe/Berlin");
    let new_york = calendar(
        "America/New_York",
        WEEKDAYS,
        9 * 60,
        17 * 60,
        &["2026-11-26", "2026-11-27", "2026-12-25"],
    );
    let h = 3600;
    // (name, calendar, opened local, closed local, calendar seconds, business seconds)
    let cases: Vec<(&str, &BusinessCalendar, &str, &str, i64, i64)> = vec![
        (
            "Berlin: Friday to Monday over spring forward",
            &berlin,
            "2026-03-27T16:00",
            "2026-03-30T10:00",
            65 * h,
            2 * h,
        ),
        (
            "Berlin: Friday to Tuesday over fall back",
            &berlin,
            "2026-10-23T16:00",
            "2026-10-27T10:00",
            91 * h,
            10 * h,
        ),
        (
            "Berlin: opened on Saturday, answered Monday",
            &berlin,
            "2026-03-21T11:00",
            "2026-03-23T11:00",
            48 * h,
            2 * h,
        ),
        (
            "Berlin: Christmas holidays then a weekend",
            &berlin,
            "2026-12-24T16:00",
            "2026-12-28T10:00",
            90 * h,
            2 * h,
        ),
        (
            "Berlin: two weeks spanning fall back",
            &berlin,
            "2026-10-19T09:00",
            "2026-11-02T09:00",
            14 * 24 * h + h,
            80 * h,
        ),
        (
            "New York: Friday to Monday over spring forward",
            &new_york,
            "2026-03-06T16:00",
            "2026-03-09T10:00",
            65 * h,
            2 * h,
        ),
        (
            "New York: Friday to Monday over fall back",
            &new_york,
            "2026-10-30T16:00",
            "2026-11-02T10:00",
            67 * h,
            2 * h,
        ),
        (
            "New York: Thanksgiving and the day after, then a weekend",
            &new_york,
            "2026-11-25T16:00",
            "2026-11-30T10:00",
            114 * h,
            2 * h,
        ),
        (
            "New York: evening to morning across the fold",
            &new_york,
            "2026-10-30T20:00",
            "2026-11-02T08:00",
            61 * h,
            0,
        ),
    ];
    for (name, cal, opened, closed, want_calendar, want_business) in cases {
        let (opened, closed) = (local(cal, opened), local(cal, closed));
        let wait = Wait {
            direction: Direction::RecruiterReply,
            opened_at: opened,
            opened_by: 1,
            closed_at: Some(closed),
            closed_by: Some(2),
            latency_s: Some(closed.as_second() - opened.as_second()),
        };
        let figures = crate::conversations::figures(
            [&wait],
            Direction::RecruiterReply,
            cal,
            utc("2026-01-01T00:00:00Z"),
            utc("2027-01-01T00:00:00Z"),
        );
        assert_eq!(figures.n, 1, "{name}");
        assert_eq!(figures.median_s, Some(want_calendar), "{name}: calendar");
        assert_eq!(
            figures.business_median_s,
            Some(want_business),
            "{name}: business"
        );
        assert_eq!(
            figures.business_p90_s,
            Some(want_business),
            "{name}: business p90"
        );
    }
}
