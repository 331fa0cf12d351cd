#!/usr/bin/env bash
# Load run of Dialogue's cheapest endpoint (/healthz) and of a rendered page (/login) on a release
# build with the embedded defaults (SQLite, info-level text logs), in one run on one machine, plus
# the server's resident memory at idle, under load and after. Needs wrk (Debian package `wrk`).
#
#   bash bench/http/run.sh            # 20 s per endpoint, 64 connections, 2 wrk threads
#   DURATION=5s bash bench/http/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-20s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
command -v wrk >/dev/null || { echo "bench: wrk is missing: apt-get install -y wrk" >&2; exit 1; }

cargo build --release --locked -p dialogue >&2
bin=target/release/dialogue
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DIALOGUE_LISTEN=127.0.0.1:$port DIALOGUE_DATA_DIR=$dir/data "$bin" serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null

rss() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
sleep 2
idle=$(rss VmRSS)

echo "| endpoint | requests/s | p50 | p99 | RSS after (MiB) |"
echo "|---|---|---|---|---|"
for path in /healthz /login; do
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$port$path")
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  errors=$(awk '/Non-2xx|Socket errors/ { print }' <<<"$out")
  [ -z "$errors" ] || { echo "bench: $path: $errors" >&2; exit 1; }
  echo "| \`GET $path\` | $rps | $p50 | $p99 | $(rss VmRSS) |"
done
echo
echo "Resident memory: ${idle} MiB at idle after start, peak $(rss VmHWM) MiB under load."
echo "($(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d$DURATION on the same machine; $(date -u +%F))"
