#!/usr/bin/env bash
# A burst of password logins (argon2id, 19 MiB each) against a release build on the embedded
# defaults, and what it does to everyone else: `/healthz` latency alone, then under the burst,
# in the same run; the server's peak resident memory. Argon2 runs at most one per core (a
# semaphore in web::crypto), so 64 logins at once queue instead of taking 64 × 19 MiB and
# every core from the other requests.
#
#   bash bench/login/run.sh              # 20 s, 64 login connections, 8 healthz connections
#   DURATION=5s bash bench/login/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-20s}
LOGINS=${LOGINS:-64}
command -v wrk >/dev/null || { echo "bench: wrk is missing: apt-get install -y wrk" >&2; exit 1; }

cargo build --release --locked -p dialogue >&2
bin=target/release/dialogue
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export DIALOGUE_LISTEN=127.0.0.1:$port DIALOGUE_DATA_DIR=$dir/data DIALOGUE_PUBLIC_URL=$base
"$bin" migrate >/dev/null
# As many accounts as connections: a class of trainers logging in at once (one account's own
# parallel attempts are limited by its throttle, counted before each check).
for i in $(seq 0 $((LOGINS - 1))); do
  echo 'correct horse battery staple' | "$bin" user add --email "bench$i@example.org" --name "Bench $i" --role trainer --password-stdin >/dev/null
done
"$bin" serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null

# One CSRF cookie and its form token serve every request of the burst.
page=$(curl -fsS -c "$dir/jar" "$base/login")
token=$(sed -n 's/.*name="_csrf" value="\([^"]*\)".*/\1/p' <<<"$page" | head -1)
cookie=$(awk '$6 == "dialogue_csrf" { print $6 "=" $7 }' "$dir/jar")
[ -n "$token" ] && [ -n "$cookie" ] || { echo "bench: no CSRF token on /login" >&2; exit 1; }
cat >"$dir/login.lua" <<EOF
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "$cookie"
wrk.headers["Origin"] = "$base"
request = function()
  n = (n + 1) % $LOGINS
  return wrk.format(nil, nil, nil,
    "_csrf=$token&email=bench" .. n .. "%40example.org&password=correct+horse+battery+staple&next=%2F")
end
EOF
# A successful login answers 303: count the others.
check() { awk '/Non-2xx|Socket errors/ { print }' <<<"$1"; }
field() { awk -v k="$2" '$1 == k { print $2 }' <<<"$1"; }

rss() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$pid/status"; }
sleep 1
idle=$(rss VmRSS)
alone=$(wrk -t1 -c8 -d"$DURATION" --latency "$base/healthz")
wrk -t1 -c"$LOGINS" -d"$DURATION" --latency -s "$dir/login.lua" "$base/login" >"$dir/logins.txt" &
burst=$!
sleep 1
during=$(wrk -t1 -c8 -d"$DURATION" --latency "$base/healthz")
if [ -n "${TRACE_RSS:-}" ]; then
  while kill -0 $burst 2>/dev/null; do echo "rss $(rss VmRSS)" >&2; sleep 1; done
fi
wait $burst
echo "rss after $(rss VmRSS)" >&2
logins=$(cat "$dir/logins.txt")

echo "| what | requests/s | p50 | p99 |"
echo "|---|---|---|---|"
echo "| \`GET /healthz\` alone (8 connections) | $(field "$alone" Requests/sec:) | $(field "$alone" 50%) | $(field "$alone" 99%) |"
echo "| \`POST /login\`, $LOGINS at once (argon2id) | $(field "$logins" Requests/sec:) | $(field "$logins" 50%) | $(field "$logins" 99%) |"
echo "| \`GET /healthz\` during the burst | $(field "$during" Requests/sec:) | $(field "$during" 50%) | $(field "$during" 99%) |"
echo
status_count() { grep 'method=POST path=/login' "$dir/server.log" | grep -c "status=$1" || true; }
echo "Logins answered 303 (logged in): $(status_count 303); 429: $(status_count 429); 503 (busy): $(status_count 503); 500: $(status_count 500)."
echo "Resident memory: ${idle} MiB before, peak $(rss VmHWM) MiB."
[ -z "$(check "$alone")" ] && [ -z "$(check "$during")" ] || { echo "bench: /healthz errors" >&2; exit 1; }
echo "($(nproc) cores; wrk on the same machine; $(date -u +%F))"
