//! The one source of "now" (SPEC §11): the wall clock, optionally started at a chosen instant.
//!
//! Business logic never reads the wall clock; it takes `now` as an argument. The service and the
//! commands hold a `Clock` and pass `clock.now()` down.

use jiff::{SignedDuration, Timestamp};

/// The wall clock, shifted so that it started at a chosen instant (the hidden `--now`).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    offset: SignedDuration,
}

impl Clock {
    /// The real wall clock.
    pub fn system() -> Clock {
        Clock {
            offset: SignedDuration::ZERO,
        }
    }

    /// A clock that reads `start` now and runs on at real speed.
    pub fn starting_at(start: Timestamp) -> Clock {
        Clock {
            offset: start.duration_since(Timestamp::now()),
        }
    }

    /// The current instant, in UTC.
    pub fn now(&self) -> Timestamp {
        Timestamp::now()
            .checked_add(self.offset)
            .expect("a --now within jiff's range plus real elapsed time stays in range")
    }
}

/// `t` if it is a whole second, else the next whole second: the end of a window `[since, until)`
/// that must hold everything up to `t`, since the store keeps whole seconds.
pub fn end_of_second(t: Timestamp) -> Timestamp {
    let whole = t.as_second() + i64::from(t.subsec_nanosecond() > 0);
    Timestamp::from_second(whole).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_of_a_second_is_the_next_whole_second() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(
            end_of_second(at("2026-11-28T06:05:14.25Z")),
            at("2026-11-28T06:05:15Z")
        );
        assert_eq!(
            end_of_second(at("2026-11-28T06:05:14Z")),
            at("2026-11-28T06:05:14Z")
        );
    }

    #[test]
    fn starting_at_reads_the_chosen_instant() {
        let start: Timestamp = "2026-03-29T00:30:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        let drift = clock.now().duration_since(start);
        assert!(drift >= SignedDuration::ZERO && drift < SignedDuration::from_secs(5));
    }
}
