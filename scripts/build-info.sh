#!/bin/sh
# The commit hanet is built from, for `hanet --version`.
#   build-info.sh commit        print it: git's HEAD (with -dirty when tracked files changed),
#                               else the one `git archive` wrote into packaging/COMMIT, else "unknown"
#   build-info.sh write FILE    write the Swift file that bakes it in (only when it changed,
#                               so an unchanged commit does not relink)
#   build-info.sh version       print the release from Sources/hanet/BuildInfo.swift
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)

commit() {
    if [ -n "${HANET_COMMIT:-}" ]; then echo "$HANET_COMMIT"; return; fi
    if [ -e "$root/.git" ] && c=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null); then
        if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then c="$c-dirty"; fi
        echo "$c"; return
    fi
    # export-subst (.gitattributes) replaces the placeholder in a `git archive` tarball.
    c=$(cat "$root/packaging/COMMIT" 2>/dev/null || true)
    case "$c" in ''|*Format*) echo unknown ;; *) echo "$c" | cut -c1-12 ;; esac
}

case "${1:-}" in
commit) commit ;;
version) sed -n 's/^ *static let version = "\(.*\)"$/\1/p' "$root/Sources/hanet/BuildInfo.swift" ;;
write)
    out=$2
    new=$(printf '%s\n' "// Written by scripts/build-info.sh for the Makefile's release build; not in git." \
        "#if HANET_BUILD_INFO" "extension BuildInfo {" "    static let commit = \"$(commit)\"" "}" "#endif")
    if [ "$(cat "$out" 2>/dev/null || true)" != "$new" ]; then printf '%s\n' "$new" > "$out"; fi
    ;;
*) echo "usage: $0 commit | version | write FILE" >&2; exit 2 ;;
esac
