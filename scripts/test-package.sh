#!/usr/bin/env bash
# The package test (`make test` runs it after `swift test`), as root:
#   1. a fresh copy of the tree (tracked and new files, nothing ignored) with a
#      git history of its own, so the commit baked into hanet is known;
#   2. `make install` into a DESTDIR with another PREFIX, every file checked,
#      then `make uninstall` leaves no file behind;
#   3. `make deb` from the same release build, lintian, and the commit a
#      `git archive` tarball would report;
#   4. the package installed with apt, then: hanet --version, the seven
#      built-in plugins enabled from /usr/lib/hanet/plugins, no Swift toolchain
#      library needed, systemd-analyze verify on the unit, man -l, completions,
#      the example config valid and warning-free;
#   5. removal (dpkg -r) keeps only the conffile; purge (dpkg -P) leaves nothing of the package.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok: $1"; }
bad() { failed=$((failed + 1)); echo "FAILED: $1" >&2; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
# apt-get waits for a dpkg lock another apt run holds; it calls dpkg -i, dpkg -r and dpkg -P.
aptget() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -y -qq "$@"; }
finish() { echo "package: $passed passed, $failed failed"; [ "$failed" -eq 0 ] && exit 0 || exit 1; }

[ "$(id -u)" -eq 0 ] || { echo "test-package.sh: needs root (it installs the package)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' hanet 2>/dev/null | grep -q installed; then
    echo "test-package.sh: a hanet package is already installed here; remove it first (dpkg -P hanet)" >&2
    exit 1
fi

work=$(mktemp -d /tmp/hanet-package.XXXXXX)
src=$work/src
installed_by_us=0
cleanup() {
    if [ "$installed_by_us" -eq 1 ] && dpkg-query -W hanet >/dev/null 2>&1; then aptget purge hanet >/dev/null 2>&1; fi
    rm -rf "$work"
}
trap cleanup EXIT

# 1. The fresh copy.
mkdir -p "$src"
(cd "$repo" && git ls-files -co --exclude-standard -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf -) | tar -x -C "$src"
git -C "$src" init -q && git -C "$src" add -A \
    && git -C "$src" -c user.name=test -c user.email=test@localhost commit -qm "package test snapshot" \
    || { bad "fresh copy committed"; finish; }
commit=$(git -C "$src" rev-parse --short=12 HEAD)
version=$(sh "$src/scripts/build-info.sh" version)
plugin_h=$src/Sources/CHANetPlugin/include/hanet/plugin.h
abi="$(sed -n 's/^#define HANET_PLUGIN_ABI_MAJOR \([0-9]*\).*/\1/p' "$plugin_h").$(sed -n 's/^#define HANET_PLUGIN_ABI_MINOR \([0-9]*\).*/\1/p' "$plugin_h")"
# The built-in plugins as the Makefile reads them from Package.swift, sorted (the enabled
# list below is compared in this order); every plugin folder must be among them.
builtins=$(make -s -C "$src" --no-print-directory plugin-ids | tr ' ' '\n' | LC_ALL=C sort | tr '\n' ' ')
folders=$(cd "$src/Plugins" && for d in */; do [ "$d" = support/ ] || echo "${d%/}"; done | LC_ALL=C sort | tr '\n' ' ')
check "the Makefile's plugin list ($builtins) is every plugin folder ($folders)" test -n "$builtins" -a "$builtins" = "$folders"

# 2. make install into a DESTDIR, then make uninstall.
dest=$work/dest
start=$SECONDS
if make -C "$src" --no-print-directory install DESTDIR="$dest" PREFIX=/opt/hanet >"$work/install.log" 2>&1; then
    ok "make install from a fresh copy (DESTDIR, PREFIX=/opt/hanet, the release build: $((SECONDS - start)) s)"
else
    tail -30 "$work/install.log" >&2
    bad "make install from a fresh copy"; finish
fi
expected="opt/hanet/bin/hanet opt/hanet/include/hanet/plugin.h opt/hanet/lib/pkgconfig/hanet-plugin.pc
  lib/systemd/system/hanet.service opt/hanet/share/man/man1/hanet.1 opt/hanet/share/bash-completion/completions/hanet
  opt/hanet/share/zsh/site-functions/_hanet opt/hanet/share/fish/vendor_completions.d/hanet.fish"
for id in $builtins; do expected="$expected usr/lib/hanet/plugins/libhanet-plugin-$id.so"; done
missing=""
for f in $expected; do [ -f "$dest/$f" ] || missing="$missing $f"; done
check "make install wrote every file (missing:${missing:- none})" test -z "$missing"
check "the installed unit runs the installed binary" grep -q '^ExecStart=/opt/hanet/bin/hanet run' "$dest/lib/systemd/system/hanet.service"
check "hanet-plugin.pc names the PREFIX and the ABI" grep -q "^prefix=/opt/hanet" "$dest/opt/hanet/lib/pkgconfig/hanet-plugin.pc"
check "plugins are mode 0644" test "$(stat -c %a "$dest/usr/lib/hanet/plugins/libhanet-plugin-carrier.so")" = 644
make -C "$src" --no-print-directory uninstall DESTDIR="$dest" PREFIX=/opt/hanet >/dev/null 2>&1
left=$(find "$dest" \( -type f -o -type l \) -printf '%P ')
check "make uninstall leaves no file behind (left: ${left:-none})" test -z "$left"
check "make uninstall removes HANet's own folders" test ! -e "$dest/usr/lib/hanet"

# 3. make deb from the same build, lintian, the tarball's commit.
# xz -z1: the package is compressed in 1.2 s instead of 12.3 s (mk/deb.mk); nothing below depends on the level.
start=$SECONDS
if make -C "$src" --no-print-directory deb DEB_COMPRESS="-Zxz -z1" >"$work/deb.log" 2>&1; then ok "make deb ($((SECONDS - start)) s)"; else tail -30 "$work/deb.log" >&2; bad "make deb"; finish; fi
deb=$(ls "$src"/hanet_*.deb)
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"
check "the package depends on the runtime libraries and nftables" \
    bash -c "dpkg-deb -f '$deb' Depends | grep -q libnl-route-3-200 && dpkg-deb -f '$deb' Depends | grep -q nftables \
             && dpkg-deb -f '$deb' Depends | grep -q libpcap0.8 && dpkg-deb -f '$deb' Depends | grep -q libudev1 \
             && dpkg-deb -f '$deb' Depends | grep -q libnftables1 && dpkg-deb -f '$deb' Depends | grep -q libssl3"
if command -v lintian >/dev/null; then
    lintian -I --fail-on error,warning "$deb" >"$work/lintian.log" 2>&1
    check "lintian: no error or warning" test $? -eq 0
    grep -v -e '^N:' -e 'root privileges' "$work/lintian.log" | sed 's/^/  lintian: /'
else
    bad "lintian installed (make deps)"
fi
mkdir -p "$work/tarball"
git -C "$src" archive HEAD | tar -x -C "$work/tarball"
check "a git archive tarball knows its commit" test "$(sh "$work/tarball/scripts/build-info.sh" commit)" = "$commit"

# 4. Install the package on this machine.
if aptget install "$deb" >"$work/apt.log" 2>&1; then
    installed_by_us=1; ok "apt-get install ./$(basename "$deb")"
else
    installed_by_us=1; cat "$work/apt.log" >&2; bad "apt-get install the package"; finish
fi
files=$(dpkg -L hanet)
check "hanet --version: version, commit, plugin ABI" \
    test "$(cd / && env -u HANET_PLUGINS_DIR hanet --version)" = "hanet $version (commit $commit, plugin ABI $abi)"
check "hanet needs no library of the Swift toolchain" bash -c "! ldd /usr/bin/hanet | grep -E 'swift|not found'"
list=$(cd / && env -u HANET_PLUGINS_DIR hanet plugins list --json)
check "hanet plugins list: the built-ins enabled from /usr/lib/hanet/plugins" python3 -c '
import json, sys
records = json.loads(sys.argv[1])
got = sorted(r["id"] for r in records if r["state"] == "enabled" and r["file"].startswith("/usr/lib/hanet/plugins/"))
sys.exit(0 if got == sys.argv[2].split() else "enabled: %s" % got)' "$list" "$builtins"
check "hanet plugins list names the installed folder" \
    bash -c "cd / && env -u HANET_PLUGINS_DIR hanet plugins list | head -1 | grep -qx 'plugins directory: /usr/lib/hanet/plugins (installed)'"
check "systemd-analyze verify hanet.service" systemd-analyze verify /lib/systemd/system/hanet.service
check "the unit is enabled" test -L /etc/systemd/system/multi-user.target.wants/hanet.service
check "man -l opens hanet(1) with every command" \
    bash -c "man -l /usr/share/man/man1/hanet.1.gz 2>/dev/null | grep -q 'hanet plugins enable' && man -w hanet | grep -q /usr/share/man/man1/hanet.1.gz"
check "bash completion loads" bash -c "source /usr/share/bash-completion/completions/hanet && complete -p hanet >/dev/null"
check "zsh and fish completions installed" test -s /usr/share/zsh/vendor-completions/_hanet -a -s /usr/share/fish/vendor_completions.d/hanet.fish
check "the example config is a conffile" bash -c "dpkg-query -W -f='\${Conffiles}' hanet | grep -q /etc/hanet/hanet.toml.example"
check "plugin header and hanet-plugin.pc" \
    bash -c "test \"\$(pkg-config --variable=pluginsdir hanet-plugin)\" = /usr/lib/hanet/plugins \
             && test \"\$(pkg-config --modversion hanet-plugin)\" = $version && test -f /usr/include/hanet/plugin.h"
(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/pair.key")
sed "s|/etc/hanet/pair.key|$work/pair.key|" /etc/hanet/hanet.toml.example > "$work/example.toml"
out=$(cd / && env -u HANET_PLUGINS_DIR hanet check --config "$work/example.toml" 2>&1)
check "the example config passes hanet check without warnings ($out)" test "$out" = "$work/example.toml: OK"

# 5. Removal, then purge.
aptget remove hanet >/dev/null 2>&1
check "dpkg -r removes the binary and plugins" test ! -e /usr/bin/hanet -a ! -e /usr/lib/hanet
check "dpkg -r keeps the conffile" test -f /etc/hanet/hanet.toml.example
aptget purge hanet >/dev/null 2>&1
left=""
for f in $files; do
    # Folders other packages share stay; everything of the package's own must go.
    if [ -d "$f" ]; then case "$f" in */hanet|*/hanet/*) ;; *) continue ;; esac; fi
    [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
for f in /etc/hanet /var/lib/hanet /etc/systemd/system/multi-user.target.wants/hanet.service /etc/systemd/system/hanet.service; do
    [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done
check "after dpkg -P nothing of the package remains (left:${left:- none})" test -z "$left"
check "dpkg no longer knows the package" bash -c "! dpkg-query -W hanet >/dev/null 2>&1"
installed_by_us=0
finish
