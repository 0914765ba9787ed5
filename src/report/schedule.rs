//! When digests are due (SPEC §10): pure, DST-correct, with `now` passed in.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use crate::config::DigestSchedule;

/// One scheduled digest: its slot name (the local date) and instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub name: String,
    pub at: Timestamp,
}

/// The local time `at` on `date` in `tz`; a time skipped by a DST change moves forward, a
/// repeated one takes its first occurrence (jiff's "compatible" rule).
fn local(date: Date, at: Time, tz: &TimeZone) -> Option<Timestamp> {
    date.to_datetime(at)
        .to_zoned_datetime(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

fn is_slot_day(schedule: DigestSchedule, day: Weekday, date: Date) -> bool {
    match schedule {
        DigestSchedule::Daily => true,
        DigestSchedule::Weekly => date.weekday() == day,
        DigestSchedule::Off => false,
    }
}

/// Walks local dates from today, backwards or forwards, to the first slot that `fits` now.
fn find_slot(
    schedule: DigestSchedule,
    at: Time,
    day: Weekday,
    tz: &TimeZone,
    now: Timestamp,
    backwards: bool,
    fits: impl Fn(Timestamp) -> bool,
) -> Option<Slot> {
    let mut date = now.to_zoned_datetime(tz.clone()).date();
    // Two weeks cover a weekly schedule and a DST change in either direction.
    for _ in 0..15 {
        if is_slot_day(schedule, day, date)
            && let Some(t) = local(date, at, tz)
            && fits(t)
        {
            return Some(Slot {
                name: date.to_string(),
                at: t,
            });
        }
        date = if backwards {
            date.yesterday()
        } else {
            date.tomorrow()
        }
        .ok()?;
    }
    None
}

/// The latest slot at or before `now`; `None` when digests are off.
pub fn latest_slot(
    schedule: DigestSchedule,
    at: Time,
    day: Weekday,
    tz: &TimeZone,
    now: Timestamp,
) -> Option<Slot> {
    find_slot(schedule, at, day, tz, now, true, |t| t <= now)
}

/// The first slot strictly after `now`.
pub fn next_slot(
    schedule: DigestSchedule,
    at: Time,
    day: Weekday,
    tz: &TimeZone,
    now: Timestamp,
) -> Option<Slot> {
    find_slot(schedule, at, day, tz, now, false, |t| t > now)
}

/// How close the next slot may be for the latest one still to be sent: 3 hours.
const CATCH_UP_MARGIN: SignedDuration = SignedDuration::from_hours(3);

/// The slot a digest is due for at `now`, if any: the latest slot, unless the next one comes
/// within [`CATCH_UP_MARGIN`]. A machine woken at 07:55 after a weekend off would otherwise send
/// Sunday's stale digest five minutes before Monday's (found in review); Monday's covers the
/// time since the previous digest, so nothing is lost by waiting for it.
pub fn due_slot(
    schedule: DigestSchedule,
    at: Time,
    day: Weekday,
    tz: &TimeZone,
    now: Timestamp,
) -> Option<Slot> {
    let latest = latest_slot(schedule, at, day, tz, now)?;
    (!next_is_near(schedule, at, day, tz, now)).then_some(latest)
}

/// Whether the next slot comes within [`CATCH_UP_MARGIN`] of `now`: a digest still waiting for
/// a retry is then left for that slot's digest, which covers its period.
pub fn next_is_near(
    schedule: DigestSchedule,
    at: Time,
    day: Weekday,
    tz: &TimeZone,
    now: Timestamp,
) -> bool {
    next_slot(schedule, at, day, tz, now)
        .is_some_and(|next| next.at.duration_since(now) < CATCH_UP_MARGIN)
}

/// The period a digest covers: since the previous digest, else one day or one week.
pub fn period_start(
    schedule: DigestSchedule,
    previous_end: Option<Timestamp>,
    end: Timestamp,
) -> Timestamp {
    previous_end.filter(|p| *p < end).unwrap_or_else(|| {
        let days = if schedule == DigestSchedule::Weekly {
            7
        } else {
            1
        };
        end - SignedDuration::from_hours(24 * days)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn berlin() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn daily_slots_keep_the_local_hour_across_dst_changes() {
        let at = Time::constant(8, 0, 0, 0);
        let cases = [
            // (now, expected latest slot instant, name)
            ("2026-03-28T10:00:00Z", "2026-03-28T07:00:00Z", "2026-03-28"), // CET: 08:00 = 07:00Z
            ("2026-03-29T06:30:00Z", "2026-03-29T06:00:00Z", "2026-03-29"), // CEST from today: 08:00 = 06:00Z
            ("2026-03-29T05:59:00Z", "2026-03-28T07:00:00Z", "2026-03-28"), // before today's slot
            ("2026-10-25T07:30:00Z", "2026-10-25T07:00:00Z", "2026-10-25"), // back to CET
        ];
        for (now, want, name) in cases {
            let slot = latest_slot(
                DigestSchedule::Daily,
                at,
                Weekday::Monday,
                &berlin(),
                ts(now),
            )
            .unwrap();
            assert_eq!(slot.at, ts(want), "now {now}");
            assert_eq!(slot.name, name, "now {now}");
        }
        let next = next_slot(
            DigestSchedule::Daily,
            at,
            Weekday::Monday,
            &berlin(),
            ts("2026-03-28T07:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            next.at,
            ts("2026-03-29T06:00:00Z"),
            "the next morning, an hour earlier in UTC"
        );
    }

    #[test]
    fn weekly_slots_fall_on_the_configured_day() {
        let at = Time::constant(8, 0, 0, 0);
        // 2026-11-26 is a Thursday.
        let slot = latest_slot(
            DigestSchedule::Weekly,
            at,
            Weekday::Monday,
            &berlin(),
            ts("2026-11-26T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(slot.name, "2026-11-23");
        let next = next_slot(
            DigestSchedule::Weekly,
            at,
            Weekday::Monday,
            &berlin(),
            ts("2026-11-26T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(next.name, "2026-11-30");
        assert!(
            latest_slot(
                DigestSchedule::Off,
                at,
                Weekday::Monday,
                &berlin(),
                ts("2026-11-26T12:00:00Z")
            )
            .is_none()
        );
    }

    #[test]
    fn a_time_skipped_by_dst_moves_forward() {
        let at = Time::constant(2, 30, 0, 0);
        let slot = latest_slot(
            DigestSchedule::Daily,
            at,
            Weekday::Monday,
            &berlin(),
            ts("2026-03-29T12:00:00Z"),
        )
        .unwrap();
        assert_eq!(
            slot.at,
            ts("2026-03-29T01:30:00Z"),
            "02:30 does not exist; 03:30 CEST"
        );
    }

    #[test]
    fn the_first_period_is_one_day_or_one_week() {
        let end = ts("2026-11-26T07:00:00Z");
        assert_eq!(
            period_start(DigestSchedule::Daily, None, end),
            ts("2026-11-25T07:00:00Z")
        );
        assert_eq!(
            period_start(DigestSchedule::Weekly, None, end),
            ts("2026-11-19T07:00:00Z")
        );
        assert_eq!(
            period_start(DigestSchedule::Daily, Some(ts("2026-11-24T07:00:00Z")), end),
            ts("2026-11-24T07:00:00Z")
        );
    }

    #[test]
    fn a_missed_digest_is_not_sent_just_before_the_next_one() {
        let at = Time::constant(8, 0, 0, 0);
        let due = |schedule, now: &str| {
            due_slot(schedule, at, Weekday::Monday, &berlin(), ts(now)).map(|slot| slot.name)
        };
        // Daily at 08:00 (07:00Z in March): the machine was off from Friday night.
        assert_eq!(
            due(DigestSchedule::Daily, "2026-03-09T06:55:00Z"),
            None,
            "Mon 07:55"
        );
        assert_eq!(
            due(DigestSchedule::Daily, "2026-03-09T03:59:00Z"),
            Some("2026-03-08".to_owned()),
            "Mon 04:59"
        );
        assert_eq!(
            due(DigestSchedule::Daily, "2026-03-09T07:00:00Z"),
            Some("2026-03-09".to_owned()),
            "on time"
        );
        assert_eq!(
            due(DigestSchedule::Daily, "2026-03-09T12:00:00Z"),
            Some("2026-03-09".to_owned()),
            "late"
        );
        // Weekly on Mondays: last week's, missed, is not sent an hour before this week's.
        assert_eq!(due(DigestSchedule::Weekly, "2026-03-09T06:00:00Z"), None);
        assert_eq!(
            due(DigestSchedule::Weekly, "2026-03-08T06:00:00Z"),
            Some("2026-03-02".to_owned())
        );
        assert_eq!(due(DigestSchedule::Off, "2026-03-09T07:00:00Z"), None);
    }
}
