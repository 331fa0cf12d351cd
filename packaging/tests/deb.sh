# The Debian package's life on this machine, one step per test (sourced by run.sh, which
# defines REPO, BINARY, UPSTREAM and WORK, and purges the package at the end).

ARCH=$(dpkg --print-architecture)
UNIT=/lib/systemd/system/dialogue.service
CONFIG=/etc/dialogue/dialogue.toml
DATA=/var/lib/dialogue
ADMIN_EMAIL=admin@example.org

deb_path() { printf '%s/%s/dialogue_%s-%s_%s.deb' "$WORK" "$1" "$UPSTREAM" "$1" "$ARCH"; }

# A command of the package, run as the administrator is told to: as the service's user.
as_dialogue() { runuser -u dialogue -- dialogue --config "$CONFIG" "$@"; }

build_and_contents() {
  local deb contents info lint
  deb=$(bash "$REPO/packaging/build-deb.sh" --binary "$BINARY" --revision 0test1 --out "$WORK/0test1" --compression none)
  assert_eq "the package's path" "$(deb_path 0test1)" "$deb"

  assert_eq "Package" dialogue "$(dpkg-deb --field "$deb" Package)"
  assert_eq "Version" "$UPSTREAM-0test1" "$(dpkg-deb --field "$deb" Version)"
  assert_eq "Architecture" "$ARCH" "$(dpkg-deb --field "$deb" Architecture)"
  assert_contains "Depends" "libc6 (>= " "$(dpkg-deb --field "$deb" Depends)"
  assert_contains "Depends" ", adduser" "$(dpkg-deb --field "$deb" Depends)"
  info=$(dpkg-deb --info "$deb")
  for script in postinst prerm postrm conffiles md5sums; do
    assert_contains "the control files" " $script " "$info"
  done
  assert_eq "conffiles" "$CONFIG" "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles)"

  contents=$(dpkg-deb --contents "$deb" | awk '{ print $1, $2, $6 }')
  for entry in \
    "-rwxr-xr-x root/root ./usr/bin/dialogue" \
    "-rw-r--r-- root/root .$UNIT" \
    "-rw-r----- root/root .$CONFIG" \
    "-rw-r--r-- root/root ./usr/share/doc/dialogue/copyright" \
    "-rw-r--r-- root/root ./usr/share/doc/dialogue/changelog.Debian.gz" \
    "-rw-r--r-- root/root ./usr/share/doc/dialogue/install.md.gz" \
    "-rw-r--r-- root/root ./usr/share/doc/dialogue/install.fr.md.gz" \
    "-rw-r--r-- root/root ./usr/share/doc/dialogue/examples/nginx/dialogue.conf" \
    "-rw-r--r-- root/root ./usr/share/doc/dialogue/examples/apache/dialogue.conf" \
    "-rw-r--r-- root/root ./usr/share/man/man1/dialogue.1.gz"; do
    assert_contains "the package's files" "$entry"$'\n' "$contents"$'\n'
  done
  # The conffile in the package is the one of the sources, and it is a valid configuration.
  diff <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ".$CONFIG") "$REPO/packaging/dialogue.toml" ||
    fail "the packaged $CONFIG differs from packaging/dialogue.toml"
  env -i PATH=/usr/bin:/bin DIALOGUE_DATA_DIR="$WORK/check-data" "$BINARY" --config "$REPO/packaging/dialogue.toml" check >/dev/null ||
    fail "packaging/dialogue.toml is not a valid configuration"
  # Its optional sections, uncommented as an administrator would (secret files in place), are
  # valid settings too. Their hosts are examples, so only the configuration line must say ok.
  local examples="$WORK/examples" out
  mkdir -p "$examples"
  for secret in oidc-company.secret ldap.password join-check.token; do echo example-secret >"$examples/$secret"; done
  awk -v dir="$examples/" '
    /^# The sections below are optional/ { optional = 1; print; next }
    optional && /^# (\[|[a-z_]+ = )/ { sub(/^# /, "") }
    { gsub("/etc/dialogue/", dir); sub(/token = "…"/, "token = \"0123456789abcdef\""); print }
  ' "$REPO/packaging/dialogue.toml" >"$examples/dialogue.toml"
  out=$(env -i PATH=/usr/bin:/bin DIALOGUE_DATA_DIR="$WORK/check-data" "$BINARY" --config "$examples/dialogue.toml" check 2>&1 || true)
  assert_contains "the conffile's optional sections, uncommented" "ok   configuration" "$out"
  assert_contains "the conffile's optional sections, uncommented" 'OpenID provider "company"' "$out"
  assert_contains "the conffile's optional sections, uncommented" 'LDAP directory ldaps://ldap.example.org:636' "$out"

  # Every command of `dialogue --help` is in the manual page.
  local command
  for command in $("$BINARY" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && $1 != "help" { print $1 }'); do
    # grep reads the whole page: with -q it could stop early and sed die of SIGPIPE (pipefail).
    sed 's/\\-/-/g' "$REPO/packaging/dialogue.1" | grep "^\.B $command\b" >/dev/null ||
      fail "the manual page does not describe \"$command\""
  done

  # Lintian: no error and no warning, on a build of the version the changelog names (as a
  # release is built; not installed). Uncompressed for speed: the default, xz, is what
  # lintian wants.
  local release
  release=$(sed -n '1s/^dialogue (\([^)]*\)).*/\1/p' "$REPO/packaging/debian/changelog")
  deb=$(bash "$REPO/packaging/build-deb.sh" --binary "$BINARY" --revision "${release##*-}" --out "$WORK/release" --compression none 2>/dev/null)
  lint=$(lintian --fail-on none --suppress-tags uses-no-compression-for-data-tarball,uses-no-compression-for-control-tarball "$deb" 2>&1 | grep -E '^[EW]: ' || true)
  [ -z "$lint" ] || fail "lintian: $lint"
}

install_package() {
  local output home shell uid
  output=$(dpkg_waiting -i "$(deb_path 0test1)")
  log "$output"
  # The hint to check the installation.
  assert_contains "the post-installation message" "runuser -u dialogue -- dialogue --config $CONFIG check" "$output"
  IFS=: read -r _ _ uid _ _ home shell < <(getent passwd dialogue) || fail "no user dialogue"
  assert_eq "dialogue's home" "$DATA" "$home"
  assert_eq "dialogue's shell" /usr/sbin/nologin "$shell"
  [ "$uid" -lt 1000 ] || fail "dialogue is not a system user (uid $uid)"
  getent group dialogue >/dev/null || fail "no group dialogue"
  assert_mode /usr/bin/dialogue 755 root root
  assert_mode "$UNIT" 644 root root
  assert_mode /etc/dialogue 755 root root
  assert_mode "$CONFIG" 640 root dialogue
  assert_mode "$DATA" 700 dialogue dialogue
  assert_eq "the statoverride of $CONFIG" "root dialogue 640 $CONFIG" "$(dpkg-statoverride --list "$CONFIG")"
  # Enabled, as Debian enables services (systemd need not run for that).
  [ -L /etc/systemd/system/multi-user.target.wants/dialogue.service ] || fail "dialogue.service is not enabled"
  # The data directory is empty until the service first starts.
  assert_eq "the data directory's contents" "" "$(ls -A "$DATA")"
}

unit_verifies_and_is_hardened() {
  local out score
  out=$(systemd-analyze verify "$UNIT" 2>&1) || fail "systemd-analyze verify: $out"
  assert_eq "systemd-analyze verify's remarks" "" "$out"
  # The exposure score (0 to 10, lower is safer) documented in docs/install.md; it must not
  # get worse than 1.5.
  out=$(systemd-analyze security --offline=yes "$UNIT" 2>&1) || fail "systemd-analyze security: $out"
  score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for dialogue.service: \([0-9.]*\).*/\1/p')
  [ -n "$score" ] || fail "no exposure level in: $out"
  log "systemd-analyze security: $score"
  awk -v score="$score" 'BEGIN { exit !(score <= 1.5) }' || fail "the unit's exposure is $score, above 1.5: $out"
  grep -q "systemd-analyze security.*$score" "$REPO/docs/install.md" ||
    fail "docs/install.md does not give the exposure score $score"
  assert_eq "User" dialogue "$(unit_value "$UNIT" User)"
  assert_eq "ExecStart" "/usr/bin/dialogue serve" "$(unit_value "$UNIT" ExecStart)"
  assert_contains "Environment" "DIALOGUE_CONFIG=$CONFIG" "$(unit_value "$UNIT" Environment)"
  assert_contains "Environment" "DIALOGUE_DATA_DIR=$DATA" "$(unit_value "$UNIT" Environment)"
  assert_eq "StateDirectory" dialogue "$(unit_value "$UNIT" StateDirectory)"
}

service_runs_as_its_user() {
  local port
  port=$(free_port)
  start_service_as_unit "$UNIT" "$port" "$WORK/service-1.log"
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null
  curl -fsS "http://127.0.0.1:$port/login" | grep -q 'name="password"' || fail "no login page"
  # The secret key, created at the first start: the service's, readable by it alone.
  assert_mode "$DATA/secret.key" 600 dialogue dialogue
  assert_mode "$DATA/dialogue.db" 600 dialogue dialogue
  # The commands, run as the guide says, use the same data.
  printf 'a long enough password\n' | as_dialogue user add --email "$ADMIN_EMAIL" --name Admin --role admin --password-stdin
  as_dialogue user list | grep -q "$ADMIN_EMAIL" || fail "the account is not listed"
  as_dialogue check >"$WORK/check.txt" || fail "dialogue check failed: $(cat "$WORK/check.txt")"
  stop_service
  grep -q "secret key created" "$WORK/service-1.log" || fail "the log does not say the secret key was created"
  sha256sum "$DATA/secret.key" >"$WORK/secret.sha256"
}

upgrade_keeps_data_and_local_configuration() {
  local port output
  # An administrator's change to the conffile.
  sed -i 's|^public_url = ""$|public_url = "https://dialogue.example.org"|' "$CONFIG"
  grep -q '^public_url = "https://dialogue.example.org"$' "$CONFIG" || fail "the test could not edit $CONFIG"
  bash "$REPO/packaging/build-deb.sh" --binary "$BINARY" --revision 0test2 --out "$WORK/0test2" --compression none >/dev/null
  output=$(dpkg_waiting -i "$(deb_path 0test2)")
  log "$output"
  assert_eq "the installed version" "$UPSTREAM-0test2" "$(dpkg-query -W -f='${Version}' dialogue)"
  grep -q '^public_url = "https://dialogue.example.org"$' "$CONFIG" || fail "the upgrade lost the local change to $CONFIG"
  assert_mode "$CONFIG" 640 root dialogue
  assert_mode "$DATA" 700 dialogue dialogue
  sha256sum -c --quiet "$WORK/secret.sha256" || fail "the secret key changed"
  case "$output" in *"Next:"*) fail "the first-install message was shown again on upgrade" ;; esac
  port=$(free_port)
  start_service_as_unit "$UNIT" "$port" "$WORK/service-2.log"
  as_dialogue user list | grep -q "$ADMIN_EMAIL" || fail "the account is gone after the upgrade"
  stop_service
  sha256sum -c --quiet "$WORK/secret.sha256" || fail "the upgraded service replaced the secret key"
}

remove_keeps_data() {
  dpkg_waiting -r dialogue >/dev/null
  assert_eq "the package's state" "deinstall ok config-files" "$(dpkg-query -W -f='${Status}' dialogue)"
  assert_absent /usr/bin/dialogue
  assert_absent "$UNIT"
  grep -q '^public_url = "https://dialogue.example.org"$' "$CONFIG" || fail "remove did not keep $CONFIG"
  sha256sum -c --quiet "$WORK/secret.sha256" || fail "remove did not keep the secret key"
  assert_mode "$DATA/dialogue.db" 600 dialogue dialogue
  getent passwd dialogue >/dev/null || fail "remove deleted the user"
  # A reinstall finds everything as it was.
  dpkg_waiting -i "$(deb_path 0test2)" >/dev/null
  as_dialogue user list | grep -q "$ADMIN_EMAIL" || fail "the account is gone after remove and reinstall"
  [ -L /etc/systemd/system/multi-user.target.wants/dialogue.service ] || fail "dialogue.service is no longer enabled"
  assert_absent /etc/systemd/system/dialogue.service
}

purge_removes_everything() {
  dpkg_waiting --purge dialogue >/dev/null
  assert_eq "the package's state" "" "$(dpkg-query -W -f='${Status}' dialogue 2>/dev/null | grep -v not-installed || true)"
  assert_absent /etc/dialogue
  assert_absent "$DATA"
  assert_absent /usr/bin/dialogue
  assert_absent /etc/systemd/system/multi-user.target.wants/dialogue.service
  assert_absent /etc/systemd/system/dialogue.service
  assert_absent /var/lib/systemd/deb-systemd-helper-enabled/dialogue.service.dsh-also
  assert_absent /var/lib/systemd/deb-systemd-helper-masked/dialogue.service
  if getent passwd dialogue >/dev/null; then fail "the user dialogue is still there"; fi
  if getent group dialogue >/dev/null; then fail "the group dialogue is still there"; fi
  if dpkg-statoverride --list "$CONFIG" >/dev/null; then fail "the statoverride of $CONFIG is still there"; fi
}
