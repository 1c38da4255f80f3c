#!/bin/sh
# The package's changelog (Debian format) for version $1: one entry, dated by
# the commit when there is one, so the same tree builds the same file.
set -eu
date=$(git log -1 --format=%aD 2>/dev/null || date -R -d "@${SOURCE_DATE_EPOCH:-0}")
printf 'hanet (%s) unstable; urgency=medium\n\n  * Release %s (commit %s).\n\n -- HANet maintainers <hanet@example.org>  %s\n' \
    "$1" "$1" "$(sh "$(dirname "$0")/../../scripts/build-info.sh" commit)" "$date"
