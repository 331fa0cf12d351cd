#!/usr/bin/env bash
# Issue 11's attendance benchmark: a course of 20 sessions × 30 learners with 10 connections
# each (12,000 event_sync deliveries posted to the real server, ~1,000 signatures in the
# evidence chain), measured over HTTP against the release-built server in one run per backend:
# /healthz (the reference), the course's and a session's attendance JSON, the course CSV, the
# course page and the course's PDF sheet (median, p95, ratio to /healthz), and the server's
# peak resident memory while rendering the PDF. Goals (BENCHMARKS.md): JSON under 50 ms, the
# PDF under 1 s, the peak under 64 MiB.
#
#   bash bench/attendance/run.sh                         # SQLite and PostgreSQL, 100 rounds
#   BACKENDS=sqlite SAMPLES=40 bash bench/attendance/run.sh
#   SERVER=target/release/dialogue bash bench/attendance/run.sh   # `dialogue serve` itself
#
# By default the server process is the bench program run again with --serve, which does what
# `dialogue serve` does (same library, configuration, logging and runtime) and spares a
# second release link; SERVER names a built `dialogue` binary to run instead.
#
# PostgreSQL: DIALOGUE_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres),
# where the run creates and drops its own database.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
BACKENDS=${BACKENDS:-"sqlite postgres"}
SAMPLES=${SAMPLES:-100}
PDF_EVERY=${PDF_EVERY:-5}
cargo build --release --locked -p dialogue --example attendance_bench >&2
for backend in $BACKENDS; do
  "$CARGO_TARGET_DIR/release/examples/attendance_bench" ${SERVER:+--server "$SERVER"} \
    --backend "$backend" --samples "$SAMPLES" --pdf-every "$PDF_EVERY"
  echo
done
echo "($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(date -u '+%F %H:%M') UTC)"
