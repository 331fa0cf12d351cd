# Helpers of the packaging tests (sourced by run.sh and the test files).
# A test is a function run in a subshell with `set -e`: its first failing command or `fail`
# ends it, and `run_test` prints one line as cargo does (`test packaging::… ... ok|FAILED`),
# which .ci/test counts.

# Where the failure of the current test is explained (its output is shown when it fails).
log() { printf '    %s\n' "$*" >&2; }

fail() {
  printf '    FAIL: %s\n' "$*" >&2
  exit 1
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
  [ "$2" = "$3" ] || fail "$1: expected \"$2\", got \"$3\""
}

# assert_contains WHAT NEEDLE HAYSTACK
assert_contains() {
  case "$3" in
    *"$2"*) ;;
    *) fail "$1: \"$2\" not found in:"$'\n'"$3" ;;
  esac
}

# assert_mode PATH MODE OWNER GROUP
assert_mode() {
  [ -e "$1" ] || fail "$1 does not exist"
  assert_eq "mode and owners of $1" "$2 $3 $4" "$(stat -c '%a %U %G' "$1")"
}

assert_absent() {
  if [ -e "$1" ] || [ -L "$1" ]; then fail "$1 is still there"; fi
}

# Runs every test named in "$@" (functions), in order. Once one fails, the following ones,
# which build on it, are reported as failed without running.
FAILED=0
run_tests() {
  local prefix=$1 name output status
  shift
  for name in "$@"; do
    if [ "$FAILED" -ne 0 ]; then
      printf 'test %s::%s ... FAILED (not run: an earlier step failed)\n' "$prefix" "$name"
      continue
    fi
    output=$(mktemp)
    set +e
    (
      set -euo pipefail
      "$name"
    ) >"$output" 2>&1
    status=$?
    set -e
    if [ "$status" -eq 0 ]; then
      printf 'test %s::%s ... ok\n' "$prefix" "$name"
    else
      FAILED=1
      printf 'test %s::%s ... FAILED\n' "$prefix" "$name"
      sed 's/^/  | /' "$output"
    fi
    rm -f "$output"
  done
}

# require_program NAME INSTALL-HINT
require_program() {
  command -v "$1" >/dev/null || {
    printf 'packaging tests: %s is missing (install it with: %s)\n' "$1" "$2" >&2
    exit 1
  }
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# dpkg with a wait for its lock (another installation may be running on a shared machine).
dpkg_waiting() {
  local out _
  for _ in $(seq 1 60); do
    if out=$(dpkg "$@" 2>&1); then
      printf '%s\n' "$out"
      return 0
    fi
    case "$out" in
      *"lock"*) sleep 5 ;;
      *)
        printf '%s\n' "$out" >&2
        return 1
        ;;
    esac
  done
  printf 'dpkg %s: the dpkg lock stayed taken for 5 minutes\n' "$*" >&2
  return 1
}

# wait_http URL: until it answers 200, or 30 s.
wait_http() {
  local _
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

# The value of KEY= in the [Service] section of a unit file (the last one wins, as for systemd;
# Environment= lines are all printed).
unit_value() {
  awk -F= -v key="$2" '
    /^\[/ { section = $0 }
    section == "[Service]" && $1 == key { sub(/^[^=]*=/, ""); print }
  ' "$1"
}

# start_service_as_unit UNIT PORT LOG: runs the unit's ExecStart as its User and Group, with
# its Environment and UMask, from /, without privileges (NoNewPrivileges=, an empty
# CapabilityBoundingSet=), listening on 127.0.0.1:PORT. systemd is not PID 1 here, so the
# service manager cannot run it; setpriv execs the command (runuser would stay in between and
# turn the service's exit status into its own). Sets SERVICE_PID; the test's exit stops it.
start_service_as_unit() {
  local unit=$1 port=$2 logfile=$3 user group umask exec_start
  local -a environment=()
  user=$(unit_value "$unit" User | tail -1)
  group=$(unit_value "$unit" Group | tail -1)
  umask=$(unit_value "$unit" UMask | tail -1)
  exec_start=$(unit_value "$unit" ExecStart | tail -1)
  mapfile -t environment < <(unit_value "$unit" Environment)
  [ -n "$user" ] && [ -n "$group" ] && [ -n "$exec_start" ] || fail "no User=, Group= or ExecStart= in $unit"
  # shellcheck disable=SC2086 # ExecStart is a command line: split it as systemd would.
  (cd / && umask "${umask:-0022}" && exec setpriv --reuid="$user" --regid="$group" --init-groups \
    --no-new-privs --bounding-set=-all --inh-caps=-all \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "${environment[@]}" "DIALOGUE_LISTEN=127.0.0.1:$port" \
    $exec_start) >"$logfile" 2>&1 &
  SERVICE_PID=$!
  trap 'kill_service' EXIT
  if ! wait_http "http://127.0.0.1:$port/healthz"; then
    log "the service did not answer /healthz; its output:"
    sed 's/^/      /' "$logfile" >&2
    fail "the service did not start"
  fi
}

kill_service() {
  if [ -n "${SERVICE_PID:-}" ]; then
    kill -KILL "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
    SERVICE_PID=""
  fi
}

# stop_service: SIGTERM, as systemd stops it; the exit status must be 0 (a graceful stop).
stop_service() {
  [ -n "${SERVICE_PID:-}" ] || return 0
  local pid=$SERVICE_PID status=0
  SERVICE_PID=""
  kill -TERM "$pid"
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || fail "the service exited with status $status after SIGTERM"
}
