#!/usr/bin/env bash
# Builds the Debian package of twostep with dpkg-deb from packaging/debian/:
# the binary, its man pages (twostep man: made from the CLI definitions), the
# hardened systemd unit, a commented /etc/twostep/config.toml (a conffile),
# and maintainer scripts that make the twostep system user.
#
#   bash scripts/deb/build.sh                      # release build, into target/debian/
#   bash scripts/deb/build.sh --binary PATH --out DIR
#
# Prints the path of the .deb it wrote.
set -euo pipefail
cd "$(dirname "$0")/../.."
umask 022

binary=""
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--binary PATH] [--out DIR]" >&2; exit 2 ;;
  esac
done
target=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
if [ -z "$binary" ]; then
  cargo build --release --locked -p twostep >&2
  binary="$target/release/twostep"
fi
out=${out:-$target/debian}
mkdir -p "$out"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
# The newest glibc symbol version the binary links against.
glibc=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
chmod 0755 "$stage"
install -D -m 0755 "$binary" "$stage/usr/bin/twostep"
strip --strip-unneeded "$stage/usr/bin/twostep"
"$binary" man "$stage/usr/share/man/man1" >&2
chmod 0755 "$stage/usr/share/man/man1"
gzip -9n "$stage/usr/share/man/man1"/*.1
install -D -m 0644 packaging/debian/twostep.service "$stage/lib/systemd/system/twostep.service"
install -D -m 0644 packaging/debian/config.toml "$stage/etc/twostep/config.toml"
install -D -m 0644 README.md "$stage/usr/share/doc/twostep/README.md"
install -D -m 0644 packaging/debian/copyright "$stage/usr/share/doc/twostep/copyright"
mkdir -m 0755 "$stage/DEBIAN"
for script in postinst prerm postrm; do
  install -m 0755 "packaging/debian/$script" "$stage/DEBIAN/$script"
done
echo /etc/twostep/config.toml > "$stage/DEBIAN/conffiles"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: twostep
Version: $version-1
Architecture: $arch
Maintainer: twostep developers <twostep@localhost>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: libc6 (>= $glibc), git (>= 1:2.29), adduser
Suggests: postgresql
Section: vcs
Priority: optional
Description: self-hosted Git server built around two-step verification
 Web pages, a JSON API, Git over HTTPS and SSH, built around two-step
 verification and account recovery: authenticator apps, security keys and
 passkeys, recovery codes, delayed self-service recovery, administrators'
 resets with an audit log. SQLite or PostgreSQL.
 .
 The package runs it as the twostep system user under systemd
 (twostep.service, sandboxed), configured by /etc/twostep/config.toml, with
 its data in /var/lib/twostep.
CONTROL
deb="$out/twostep_${version}-1_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >&2
echo "$deb"
