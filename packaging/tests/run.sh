#!/usr/bin/env bash
# The packaging tests: the Debian package on this very machine (build, dpkg -i, the unit, the
# service run as its user, an upgrade, dpkg -r, dpkg --purge), then the installation guide's
# commands (docs/install.md). As root, on Debian 12 or Ubuntu 24.04; .ci/peers installs what
# they use. The machine is left as it was found: the package is purged at the end, also when a
# test fails. Two runs on one machine wait for each other.
#
#   bash packaging/tests/run.sh [BINARY]     (default: target/debug/dialogue, as CI builds it)
#
# One line per test, as cargo prints them (`test packaging::deb::install ... ok`); the exit
# status is 1 when one failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$(pwd)
BINARY=$(realpath "${1:-target/debug/dialogue}")
# shellcheck source=packaging/tests/lib.sh
. packaging/tests/lib.sh

if [ "$(id -u)" -ne 0 ]; then
  echo "packaging tests: run them as root (they install and purge the package on this machine)" >&2
  exit 1
fi
[ -x "$BINARY" ] || {
  echo "packaging tests: no binary at $BINARY (build it with: cargo build -p dialogue)" >&2
  exit 1
}
require_program dpkg-deb "apt-get install -y dpkg"
require_program dpkg-shlibdeps "apt-get install -y dpkg-dev"
require_program strip "apt-get install -y binutils"
require_program lintian "apt-get install -y --no-install-recommends lintian"
require_program systemd-analyze "apt-get install -y systemd"
require_program adduser "apt-get install -y adduser"
require_program setpriv "apt-get install -y util-linux"
require_program curl "apt-get install -y curl"
require_program openssl "apt-get install -y openssl"
require_program nginx "apt-get install -y nginx-light"
require_program luac "apt-get install -y lua5.4"
require_program python3 "apt-get install -y python3"

lock_dir=/run/lock
[ -d "$lock_dir" ] || lock_dir=/tmp
exec 9>"$lock_dir/dialogue-packaging-tests.lock"
flock -w 1800 9 || {
  echo "packaging tests: another run held the lock for 30 minutes" >&2
  exit 1
}

UPSTREAM=$("$BINARY" --version | cut -d' ' -f2)
WORK=$(mktemp -d /tmp/dialogue-packaging-XXXXXX)
chmod 0755 "$WORK"

# Test builds carry the revision 0testN (lower than any real -1): a leftover of an interrupted
# run is recognised and purged; any other dialogue package is not ours to touch.
installed_version() {
  dpkg-query -W -f='${Status} ${Version}\n' dialogue 2>/dev/null |
    awk '$2 != "not-installed" && $3 != "not-installed" { print $NF }'
}
leftover=$(installed_version || true)
if [ -n "$leftover" ]; then
  case "$leftover" in
    *-0test*)
      echo "packaging tests: purging dialogue $leftover, left by an interrupted run" >&2
      dpkg_waiting --purge dialogue >/dev/null
      ;;
    *)
      echo "packaging tests: dialogue $leftover is installed on this machine; these tests install and purge their own package: remove it first (dpkg --purge dialogue)" >&2
      exit 1
      ;;
  esac
fi
if getent passwd dialogue >/dev/null || [ -e /etc/dialogue ] || [ -e /var/lib/dialogue ]; then
  echo "packaging tests: a dialogue user, /etc/dialogue or /var/lib/dialogue exists without the package: not ours to remove" >&2
  exit 1
fi

cleanup() {
  local version
  version=$(installed_version || true)
  if [ -n "$version" ]; then dpkg_waiting --purge dialogue >/dev/null || true; fi
  guide_cleanup
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=packaging/tests/deb.sh
. packaging/tests/deb.sh
# shellcheck source=packaging/tests/guide.sh
. packaging/tests/guide.sh

started=$(date +%s)
run_tests packaging::deb build_and_contents install_package unit_verifies_and_is_hardened \
  service_runs_as_its_user upgrade_keeps_data_and_local_configuration remove_keeps_data \
  purge_removes_everything
deb_failed=$FAILED
FAILED=0
run_tests packaging::guide guides_agree install_and_configure_as_the_guide_says \
  printed_jitsi_settings_parse
echo "packaging tests: $(($(date +%s) - started)) s" >&2
[ "$deb_failed" -eq 0 ] && [ "$FAILED" -eq 0 ]
