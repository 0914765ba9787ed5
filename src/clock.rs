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

/// The end of the second `t` is in (the next whole second, also when `t` is a whole second): the
/// end of a window `[since, until)` that must hold everything up to `t`. The store keeps whole
/// seconds, so what happened at `t` itself is stored as `t`'s second, which a window ending at
/// `t` would leave out (found in review: a clock read at a whole second, as a `--now` clock can
/// be at its start, ended the window at that second and left out what was done in it).
pub fn end_of_second(t: Timestamp) -> Timestamp {
    Timestamp::from_second(t.as_second() + 1).unwrap_or(t)
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
        // A whole second is a second too: what was stored as 06:05:14 may have happened at
        // exactly that instant, and the window must hold it.
        assert_eq!(
            end_of_second(at("2026-11-28T06:05:14Z")),
            at("2026-11-28T06:05:15Z")
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
