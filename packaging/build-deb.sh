#!/usr/bin/env bash
# Builds Dialogue's Debian package with dpkg-deb alone (no debhelper, no cargo-deb):
#
#   bash packaging/build-deb.sh [--binary PATH] [--revision N] [--out DIR] [--compression xz|gzip|none]
#
#   --binary       the dialogue binary to package; default: `cargo build --release --locked` first
#   --revision     the Debian revision (default 1): the version is <Cargo.toml version>-<revision>
#   --out          where the package goes (default: target/debian)
#   --compression  of the files inside the package (default xz, as Debian's own; none is quick)
#
# The architecture is `dpkg --print-architecture`'s, the library dependencies dpkg-shlibdeps'
# (build on the oldest release you install on: a package built on Debian 12 installs on
# Debian 12 and Ubuntu 24.04). Prints the package's path on standard output, all else on
# standard error. Needs dpkg-dev and binutils (apt-get install -y dpkg-dev binutils).
set -euo pipefail
umask 022

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")

binary=""
revision=1
out="$repo/target/debian"
compression=xz

fail() {
  printf 'build-deb: %s\n' "$*" >&2
  exit 1
}
note() { printf 'build-deb: %s\n' "$*" >&2; }

while (($#)); do
  case "$1" in
    --binary) binary=${2:?--binary needs a path}; shift 2 ;;
    --revision) revision=${2:?--revision needs a value}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --compression) compression=${2:?--compression needs xz, gzip or none}; shift 2 ;;
    -h | --help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) fail "unknown argument $1 (see --help)" ;;
  esac
done
[[ $revision =~ ^[0-9A-Za-z.+~]+$ ]] || fail "--revision $revision: letters, digits and .+~ only"
case "$compression" in xz | gzip | none) ;; *) fail "--compression $compression: xz, gzip or none" ;; esac

for tool in dpkg-deb dpkg-shlibdeps dpkg-statoverride strip gzip md5sum; do
  command -v "$tool" >/dev/null || fail "$tool is missing: apt-get install -y dpkg-dev binutils"
done

# The version of the workspace, from the root Cargo.toml's [workspace.package].
upstream=$(awk '
  /^\[/ { section = $0 }
  section == "[workspace.package]" && $1 == "version" { gsub(/"/, "", $3); print $3; exit }
' "$repo/Cargo.toml")
[ -n "$upstream" ] || fail "no version in [workspace.package] of $repo/Cargo.toml"
version="$upstream-$revision"

if [ -z "$binary" ]; then
  note "building the release binary (cargo build --release --locked -p dialogue)"
  (cd "$repo" && cargo build --release --locked -p dialogue >&2)
  binary="$repo/target/release/dialogue"
fi
[ -x "$binary" ] || fail "$binary is not an executable file"
# The binary must be the one of these sources, not a stale build.
reported=$("$binary" --version) || fail "$binary --version failed"
[ "$reported" = "dialogue $upstream" ] || fail "$binary says \"$reported\", the sources are dialogue $upstream"

arch=$(dpkg --print-architecture)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root="$work/root"
doc="$root/usr/share/doc/dialogue"

install -D -m 0755 "$binary" "$root/usr/bin/dialogue"
strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root/usr/bin/dialogue"
install -D -m 0644 "$here/dialogue.service" "$root/lib/systemd/system/dialogue.service"
# 0640: group dialogue is given by the postinst (dpkg-statoverride), once the group exists.
install -D -m 0640 "$here/dialogue.toml" "$root/etc/dialogue/dialogue.toml"
install -D -m 0644 "$here/debian/copyright" "$doc/copyright"
install -D -m 0644 "$here/nginx/dialogue.conf" "$doc/examples/nginx/dialogue.conf"
install -D -m 0644 "$here/apache/dialogue.conf" "$doc/examples/apache/dialogue.conf"
for guide in install.md install.fr.md; do
  gzip -9n <"$repo/docs/$guide" >"$doc/$guide.gz"
done
install -d -m 0755 "$root/usr/share/man/man1" "$root/usr/share/lintian/overrides"
gzip -9n <"$here/dialogue.1" >"$root/usr/share/man/man1/dialogue.1.gz"
install -m 0644 "$here/debian/lintian-overrides" "$root/usr/share/lintian/overrides/dialogue"

# The changelog names the version built; a build of a version it does not list yet gets an entry.
changelog="$work/changelog"
top=$(sed -n '1s/^dialogue (\([^)]*\)).*/\1/p' "$here/debian/changelog")
if [ "$top" != "$version" ]; then
  note "packaging/debian/changelog starts at $top: adding an entry for $version"
  # Dated after the entry it follows, as Debian's tools expect.
  top_date=$(date -d "$(sed -n 's/^ -- .*>  //p' "$here/debian/changelog" | head -1)" +%s)
  entry_date=$((SOURCE_DATE_EPOCH > top_date ? SOURCE_DATE_EPOCH : top_date + 60))
  {
    printf 'dialogue (%s) unstable; urgency=medium\n\n  * Built from the sources of dialogue %s.\n\n' "$version" "$upstream"
    printf ' -- Dialogue maintainers <dialogue@example.org>  %s\n\n' "$(date -R -u -d "@$entry_date")"
  } >"$changelog"
fi
cat "$here/debian/changelog" >>"$changelog"
gzip -9n <"$changelog" >"$doc/changelog.Debian.gz"
chmod 0644 "$doc"/*.gz "$root/usr/share/man/man1/dialogue.1.gz"

# Library dependencies, as dpkg-shlibdeps computes them for debian/rules (it wants a
# debian/control to exist in its working directory).
mkdir -p "$work/src/debian"
printf 'Source: dialogue\n\nPackage: dialogue\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O -e"$root/usr/bin/dialogue" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || fail "dpkg-shlibdeps found no library dependency for $binary"

installed_size=$(du -sk "$root" | cut -f1)
mkdir -m 0755 "$root/DEBIAN"
cat >"$root/DEBIAN/control" <<EOF
Package: dialogue
Version: $version
Architecture: $arch
Maintainer: Dialogue maintainers <dialogue@example.org>
Installed-Size: $installed_size
Depends: $shlibs, adduser
Recommends: fonts-noto-core, fonts-noto-cjk
Section: web
Priority: optional
Description: booking, invitations and Jitsi tokens for live online training
 Dialogue is a self-hosted web application with which a training company runs
 its live online courses on Jitsi Meet: managers plan courses and sessions,
 trainers teach them as moderators, learners and guests join from personal
 links within the booked window, and the company keeps proof of who attended.
 .
 This package runs Dialogue as the systemd service dialogue.service, as the
 system user dialogue, with its data in /var/lib/dialogue and its settings in
 /etc/dialogue/dialogue.toml. Put it behind nginx or Apache for TLS (examples
 in /usr/share/doc/dialogue/examples).
EOF
printf '/etc/dialogue/dialogue.toml\n' >"$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$here/debian/$script" "$root/DEBIAN/$script"
done
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' md5sum) \
  >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$(cd "$out" && pwd)/dialogue_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Z"$compression" --build "$root" "$deb" >&2
note "built $deb"
printf '%s\n' "$deb"
