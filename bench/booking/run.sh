#!/usr/bin/env bash
# Booking a session (with its conflict check) and rendering a trainer's dashboard, with 1,000
# and then 100,000 sessions (1,000 trainers) in the database, in one run, on SQLite and on
# PostgreSQL (DIALOGUE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres,
# where the run creates and drops its own database). Prints BENCHMARKS.md's table.
#
#   bash bench/booking/run.sh                      # both backends, 1000 samples per figure
#   BACKENDS=sqlite SAMPLES=200 bash bench/booking/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
BACKENDS=${BACKENDS:-"sqlite postgres"}
SAMPLES=${SAMPLES:-1000}
SESSIONS=${SESSIONS:-100000}
TRAINERS=${TRAINERS:-1000}
cargo build --release --locked -p dialogue --example booking_bench >&2
for backend in $BACKENDS; do
  target/release/examples/booking_bench --backend "$backend" --sessions "$SESSIONS" \
    --trainers "$TRAINERS" --samples "$SAMPLES"
  echo
done
echo "($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(date -u +%F))"
