#!/usr/bin/env bash
# Mail and calendar figures (see crates/dialogue/benches/mail.rs): outbox delivery throughput to
# a local aiosmtpd and to .eml files, and a 1,000-session feed over HTTP. Needs aiosmtpd
# (`python3 -m pip install aiosmtpd`, as .ci/peers installs it). Optimised build.
set -euo pipefail
cd "$(dirname "$0")/../.."
python3 -c 'import aiosmtpd' 2>/dev/null || {
  echo "bench/mail: aiosmtpd is missing: python3 -m pip install aiosmtpd" >&2
  exit 1
}
exec cargo bench -p dialogue --bench mail "$@"
