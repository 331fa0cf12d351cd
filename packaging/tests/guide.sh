# The installation guide's commands (docs/install.md), run as an administrator pastes them
# (sourced by run.sh). How the guide marks its blocks is said in its own first comment.

GUIDE="$REPO/docs/install.md"
GUIDE_FR="$REPO/docs/install.fr.md"
GUIDE_WORK="$WORK/guide"
# What the test changes in the guide's ```sh blocks before running them, each found at least
# once (so that this list cannot silently go stale): the package is built from the debug
# binary with a test revision, installed from where it was built, and the service the test
# starts listens on a free port.
GUIDE_PORT_FILE="$WORK/guide-port"
# Paths the guide makes on this machine; removed at the end, so they must not exist before.
GUIDE_NGINX_SITE=/etc/nginx/sites-available/dialogue.conf
GUIDE_NGINX_LINK=/etc/nginx/sites-enabled/dialogue.conf
GUIDE_CERT_DIR=/etc/letsencrypt/live/dialogue.example.org
GUIDE_CREATED_LETSENCRYPT="$WORK/created-letsencrypt"

guide_cleanup() {
  rm -f "$GUIDE_NGINX_LINK" "$GUIDE_NGINX_SITE"
  if [ -e "$GUIDE_CREATED_LETSENCRYPT" ]; then rm -rf /etc/letsencrypt; fi
}

# extract_blocks GUIDE DIR: each fenced block as DIR/NNN.<info>, in order; DIR/marker holds
# the number of blocks before the line `<!-- test: service started -->`.
extract_blocks() {
  mkdir -p "$2"
  awk -v dir="$2" '
    /^<!-- test: service started -->$/ { print n > (dir "/marker") }
    inside && /^```$/ { inside = 0; close(file); next }
    inside { print > file; next }
    /^```[a-z]+$/ { n++; inside = 1; file = sprintf("%s/%03d.%s", dir, n, substr($0, 4)); printf "" > file }
  ' "$1"
}

# A block without its comment lines (which each language writes in its own words).
without_comments() { grep -vE '^[[:space:]]*#' "$1" || true; }

guides_agree() {
  local en="$GUIDE_WORK/blocks-en" fr="$GUIDE_WORK/blocks-fr" a b
  extract_blocks "$GUIDE" "$en"
  extract_blocks "$GUIDE_FR" "$fr"
  assert_eq "the blocks of install.md and install.fr.md" "$(cd "$en" && ls)" "$(cd "$fr" && ls)"
  for a in "$en"/[0-9]*; do
    b="$fr/$(basename "$a")"
    diff <(without_comments "$a") <(without_comments "$b") >/dev/null ||
      fail "block $(basename "$a") differs between the guides: $(diff <(without_comments "$a") <(without_comments "$b"))"
  done
  [ -s "$en/marker" ] || fail "install.md has no <!-- test: service started --> line"
  # Enough of the guide is runnable here: the package, the settings, nginx, the commands.
  local runnable=("$en"/*.sh)
  [ "${#runnable[@]}" -ge 8 ] || fail "fewer than 8 sh blocks in install.md"
  # Every toml block is a configuration Dialogue loads (on a scratch SQLite database).
  local toml
  for toml in "$en"/*.toml; do
    env -i PATH=/usr/bin:/bin DIALOGUE_DATA_DIR="$GUIDE_WORK/toml-data" \
      DIALOGUE_DATABASE_URL="sqlite:$GUIDE_WORK/toml-data/check.db" \
      "$BINARY" --config "$toml" migrate >/dev/null ||
      fail "block $(basename "$toml") is not a configuration Dialogue accepts: $(cat "$toml")"
  done
}

# substitute FILE FROM TO: every occurrence, which must exist somewhere in the guide's sh blocks.
substitute() {
  local text
  grep -qF -- "$2" "$GUIDE_WORK"/blocks-en/*.sh || fail "the guide no longer contains \"$2\": update packaging/tests/guide.sh"
  text=$(cat "$1")
  printf '%s\n' "${text//"$2"/"$3"}" >"$1"
}

install_and_configure_as_the_guide_says() {
  local port en="$GUIDE_WORK/blocks-en" marker block script script_a script_b path
  for path in "$GUIDE_NGINX_SITE" "$GUIDE_NGINX_LINK" /etc/letsencrypt; do
    if [ -e "$path" ]; then fail "$path exists on this machine: the guide test would change it"; fi
  done
  port=$(free_port)
  printf '%s\n' "$port" >"$GUIDE_PORT_FILE"
  marker=$(cat "$en/marker")
  script_a="$GUIDE_WORK/before-start.sh"
  script_b="$GUIDE_WORK/after-start.sh"
  : >"$script_a"
  : >"$script_b"
  for block in "$en"/*.sh; do
    if [ "$((10#$(basename "$block" .sh)))" -le "$marker" ]; then cat "$block" >>"$script_a"; else cat "$block" >>"$script_b"; fi
  done
  for script in "$script_a" "$script_b"; do
    substitute "$script" "bash packaging/build-deb.sh" \
      "bash packaging/build-deb.sh --binary $BINARY --revision 0test1 --out $GUIDE_WORK/deb --compression none"
    substitute "$script" "./dialogue_*.deb" "$GUIDE_WORK/deb/dialogue_*.deb"
    substitute "$script" "127.0.0.1:8080" "127.0.0.1:$port"
  done

  # Where certbot would have put the certificate.
  touch "$GUIDE_CREATED_LETSENCRYPT"
  mkdir -p "$GUIDE_CERT_DIR"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=dialogue.example.org -keyout "$GUIDE_CERT_DIR/privkey.pem" \
    -out "$GUIDE_CERT_DIR/fullchain.pem" 2>/dev/null

  mkdir -p "$GUIDE_WORK/home"
  printf 'DPkg::Lock::Timeout "600";\n' >"$GUIDE_WORK/apt.conf"
  local run=(env HOME="$GUIDE_WORK/home" APT_CONFIG="$GUIDE_WORK/apt.conf" bash -euxo pipefail)
  (cd "$REPO" && "${run[@]}" "$script_a") >"$GUIDE_WORK/before-start.log" 2>&1 ||
    fail "the guide's commands failed:"$'\n'"$(tail -40 "$GUIDE_WORK/before-start.log")"

  # `systemctl restart dialogue`, as far as this machine can: the unit's command, as its user.
  start_service_as_unit "$UNIT" "$port" "$GUIDE_WORK/service.log"
  (cd "$REPO" && "${run[@]}" "$script_b") >"$GUIDE_WORK/after-start.log" 2>&1 ||
    fail "the guide's commands failed:"$'\n'"$(tail -40 "$GUIDE_WORK/after-start.log")"
  stop_service

  # What the commands did.
  assert_contains "the configuration" 'public_url = "https://dialogue.example.org"' "$(cat "$CONFIG")"
  [ -L "$GUIDE_NGINX_LINK" ] || fail "the nginx site is not enabled"
  assert_contains "user add's link" "https://dialogue.example.org/password/" "$(cat "$GUIDE_WORK/after-start.log")"
  as_dialogue user list | grep -q "^admin .*admin@example.org" || fail "no administrator"
  assert_contains "dialogue check" 'ok   Jitsi server "meet" (hs256): secrets open with this secret key' \
    "$(cat "$GUIDE_WORK/after-start.log")"
  [ -s "$GUIDE_WORK/home/jitsi-settings.txt" ] || fail "jitsi-config printed nothing into ~/jitsi-settings.txt"
}

# The blocks of jitsi-config's output: DIR/NNN.<lua|hocon|js|nginx>, each with its comment line.
split_settings() {
  mkdir -p "$2"
  awk -v dir="$2" '
    function start(kind) { n++; file = sprintf("%s/%03d.%s", dir, n, kind) }
    /^-- File / { start("lua") }
    /^# File .*jicofo/ { start("hocon") }
    /^\/\/ File / { start("js") }
    /^# File \/etc\/nginx\// { start("nginx") }
    n { print > file }
  ' "$1"
}

printed_jitsi_settings_parse() {
  local settings="$GUIDE_WORK/home/jitsi-settings.txt" parts="$GUIDE_WORK/settings" bearer api_secret
  split_settings "$settings" "$parts"
  assert_eq "the blocks jitsi-config printed" "001.lua 002.lua 003.lua 004.hocon 005.js 006.nginx" \
    "$(cd "$parts" && echo *)"
  # Prosody's blocks, with the header line, as one Lua file.
  { head -1 "$settings"; cat "$parts"/*.lua; } >"$GUIDE_WORK/prosody.cfg.lua"
  luac -p "$GUIDE_WORK/prosody.cfg.lua" || fail "luac refused the printed Prosody settings"
  # The bearer Prosody will send is the one the API gave when the server was added.
  api_secret=$(sed -n 's/.*"api_secret":"\([^"]*\)".*/\1/p' "$GUIDE_WORK/after-start.log")
  [ -n "$api_secret" ] || fail "the API did not return the server's api_secret"
  bearer=$(grep -c "\[\"Authorization\"\] = \"Bearer $api_secret\";" "$GUIDE_WORK/prosody.cfg.lua" || true)
  assert_eq "the bearer in the reservation and event settings" 2 "$bearer"
  # The way back to Dialogue: config.js and the Jitsi site's nginx.
  assert_contains "config.js" 'customUrl: "https://dialogue.example.org/"' "$(cat "$parts"/005.js)"
  assert_contains "config.js" 'enableClosePage: true,' "$(cat "$parts"/005.js)"
  local d="$GUIDE_WORK/jitsi-nginx"
  mkdir -p "$d"
  {
    printf 'pid %s/nginx.pid;\nerror_log %s/error.log;\nevents { worker_connections 16; }\n' "$d" "$d"
    printf 'http {\n  access_log off;\n  server {\n    listen 127.0.0.1:%s;\n' "$(free_port)"
    cat "$parts"/006.nginx
    printf '  }\n}\n'
  } >"$d/nginx.conf"
  nginx -t -q -c "$d/nginx.conf" -p "$d/" || fail "nginx -t refused the printed Jitsi site block: $(cat "$d/nginx.conf")"
  grep -q "return 302 https://dialogue.example.org/;" "$parts"/006.nginx || fail "the Jitsi site does not lead back to Dialogue"
}
