//! Rendering speed of a 1,000-event feed (five zones, an organizer and
//! three attendees per event, one event in ten recurring).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-ical cargo bench -p ical`
//!
//! Prints the median time per render over several batches, and the minimum
//! and maximum batch medians.

#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

const EVENTS: usize = 1_000;
const ATTENDEES: usize = 3;
const BATCHES: usize = 15;
const RENDERS_PER_BATCH: usize = 20;

fn main() {
    let calendar = common::feed(EVENTS, ATTENDEES);
    let text = calendar.render();
    println!(
        "feed: {EVENTS} events, {ATTENDEES} attendees each, {} bytes, {} lines",
        text.len(),
        text.matches("\r\n").count()
    );

    // Warm up.
    for _ in 0..RENDERS_PER_BATCH {
        black_box(black_box(&calendar).render());
    }

    let mut per_render: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..RENDERS_PER_BATCH {
                black_box(black_box(&calendar).render());
            }
            started.elapsed() / u32::try_from(RENDERS_PER_BATCH).unwrap_or(1)
        })
        .collect();
    per_render.sort();
    let median = per_render[BATCHES / 2];
    println!(
        "render: median {:.3} ms per 1,000-event calendar ({BATCHES} batches of \
         {RENDERS_PER_BATCH}; batch range {:.3}–{:.3} ms), {:.0} MB/s",
        median.as_secs_f64() * 1e3,
        per_render[0].as_secs_f64() * 1e3,
        per_render[BATCHES - 1].as_secs_f64() * 1e3,
        text.len() as f64 / median.as_secs_f64() / 1e6,
    );
}
