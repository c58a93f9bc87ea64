//! Time sources. The store asks a [`Clock`] for "now" so that tests (and the
//! CLI's `--now`) can pin time instead of sleeping.

use crate::model::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now, UTC milliseconds.
    fn now(&self) -> Timestamp;
    /// True for the device's real (wall) clock, which the store corrects by
    /// the offset to the server's clock learnt at each sync. Pinned clocks
    /// (tests, `--now`) are taken as they are.
    fn is_wall_clock(&self) -> bool {
        false
    }
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_millisecond())
    }
    fn is_wall_clock(&self) -> bool {
        true
    }
}

/// The system clock set wrong by a fixed amount: a phone whose owner moved
/// its clock (tests of the clock correction and of the server's checks).
#[derive(Debug, Default, Clone, Copy)]
pub struct SkewedClock {
    /// Milliseconds added to the system clock.
    pub skew_ms: i64,
}

impl Clock for SkewedClock {
    fn now(&self) -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_millisecond() + self.skew_ms)
    }
    fn is_wall_clock(&self) -> bool {
        true
    }
}

/// A clock that only moves when told to (tests, replays).
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: Timestamp) -> Self {
        ManualClock(AtomicI64::new(at.0))
    }
    /// Jump to `at`.
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, Ordering::SeqCst);
    }
    /// Move forward by `minutes`.
    pub fn advance_minutes(&self, minutes: i64) {
        self.0.fetch_add(minutes * 60_000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}
