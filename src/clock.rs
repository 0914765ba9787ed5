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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_at_reads_the_chosen_instant() {
        let start: Timestamp = "2026-03-29T00:30:00Z".parse().unwrap();
        let clock = Clock::starting_at(start);
        let drift = clock.now().duration_since(start);
        assert!(drift >= SignedDuration::ZERO && drift < SignedDuration::from_secs(5));
    }
}
