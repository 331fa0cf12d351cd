//! Rendering time and memory of a course attendance sheet: 20 sessions × 30 learners, two
//! half-days each (40 pages, 1,200 signature cells), once with typed signatures and once with
//! every signature drawn (1,200 distinct 600×200 PNGs, the worst case).
//!
//! Run: `cargo bench -p documents --bench sheet`
//! Peak memory of the whole process: `/usr/bin/time -v target/release/deps/sheet-* --bench`
//! (the bench also prints the process's peak resident set from /proc/self/status).

#[allow(dead_code)]
#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use documents::{Locale, attendance_sheet};

const RENDERS: usize = 10;

fn main() {
    println!("{}", peak_memory("at start"));
    for (label, drawn) in [("typed signatures", false), ("drawn signatures", true)] {
        let input = common::sheet(Locale::Fr, common::course_sessions(20, 30, drawn));
        let pdf = attendance_sheet(&input).unwrap_or_else(|error| panic!("{error}"));
        println!(
            "course sheet, 20 sessions × 30 learners, {label}: {} bytes; {}",
            pdf.len(),
            peak_memory("after the input is built and rendered once")
        );
        let cpu_before = cpu_time();
        let mut times: Vec<Duration> = (0..RENDERS)
            .map(|_| {
                let started = Instant::now();
                black_box(attendance_sheet(black_box(&input)).ok());
                started.elapsed()
            })
            .collect();
        let cpu = cpu_time().saturating_sub(cpu_before) / RENDERS as u32;
        times.sort();
        println!(
            "  render: median {:.1} ms, min {:.1} ms, max {:.1} ms wall ({RENDERS} renders); \
             {:.1} ms of CPU per render (all threads); {}",
            times[RENDERS / 2].as_secs_f64() * 1e3,
            times[0].as_secs_f64() * 1e3,
            times[RENDERS - 1].as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3,
            peak_memory("after the renders")
        );
    }
}

/// CPU time used by the process so far, all threads (user and system; from /proc/self/stat,
/// in clock ticks of 10 ms): unlike wall time, it hardly moves when other work shares the
/// machine.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command name (in parentheses) come the state, then numbers; utime and stime
    // are the 12th and 13th fields from there.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    let ticks = field(11) + field(12);
    Duration::from_millis(ticks * 10)
}

/// The process's peak resident set (VmHWM) so far.
fn peak_memory(when: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .map(str::trim)
        .unwrap_or("unknown");
    format!("peak RSS {when}: {peak}")
}
