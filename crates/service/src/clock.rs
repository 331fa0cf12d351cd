//! Where "now" comes from: the system clock in production, an adjustable one in tests, so that
//! every rule that depends on the time (windows, throttles, links, reminders) can be tested at
//! its edges without waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

/// Where "now" comes from. Tests move time forward without waiting; the binary always uses
/// the system clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_secs: Option<Arc<AtomicI64>>,
    /// When set (not [`i64::MIN`]), the clock stands still at these Unix seconds.
    frozen_secs: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that can be moved forward (tests only ever construct it).
    pub fn adjustable() -> Clock {
        Clock {
            offset_secs: Some(Arc::new(AtomicI64::new(0))),
            frozen_secs: Some(Arc::new(AtomicI64::new(i64::MIN))),
        }
    }

    /// Moves an adjustable clock forward; no effect on the system clock.
    pub fn advance(&self, by: SignedDuration) {
        if let Some(frozen) = &self.frozen_secs
            && frozen.load(Ordering::SeqCst) != i64::MIN
        {
            frozen.fetch_add(by.as_secs(), Ordering::SeqCst);
            return;
        }
        if let Some(offset) = &self.offset_secs {
            offset.fetch_add(by.as_secs(), Ordering::SeqCst);
        }
    }

    /// Stops an adjustable clock at `at` (whole seconds): it stays there, and [`Clock::advance`]
    /// moves it, so tests can stand exactly one second before an edge. No effect on the system
    /// clock.
    pub fn freeze_at(&self, at: Timestamp) {
        if let Some(frozen) = &self.frozen_secs {
            frozen.store(at.as_second(), Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> Timestamp {
        if let Some(frozen) = &self.frozen_secs {
            let at = frozen.load(Ordering::SeqCst);
            if at != i64::MIN
                && let Ok(t) = Timestamp::from_second(at)
            {
                return t;
            }
        }
        let now = Timestamp::now();
        match &self.offset_secs {
            Some(offset) => now + SignedDuration::from_secs(offset.load(Ordering::SeqCst)),
            None => now,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustable_clock_moves() {
        let clock = Clock::adjustable();
        let before = clock.now();
        clock.advance(SignedDuration::from_hours(2));
        assert!(clock.now().duration_since(before) >= SignedDuration::from_secs(7199));
        let frozen = Clock::adjustable();
        let at = Timestamp::from_second(1_900_000_000).unwrap();
        frozen.freeze_at(at);
        assert_eq!(frozen.now(), at);
        frozen.advance(SignedDuration::from_secs(1));
        assert_eq!(frozen.now(), at + SignedDuration::from_secs(1));
        let system = Clock::system();
        system.advance(SignedDuration::from_hours(2));
        assert!(system.now().duration_since(Timestamp::now()).abs() < SignedDuration::from_secs(5));
    }
}
