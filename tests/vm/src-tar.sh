#!/bin/bash
# tests/vm/src-tar.sh - the tree's files as one tar, as the VM gets them:
# in a git checkout, git ls-files (tracked and untracked-not-ignored files
# that exist: the working copy); elsewhere (a dist tarball) every file but
# build products.
#
# Usage: tests/vm/src-tar.sh SRC-DIR OUT.tar
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: src-tar.sh SRC-DIR OUT.tar" >&2; exit 2; }
src=$1 outtar=$2
case $outtar in /*) ;; *) outtar=$PWD/$outtar ;; esac
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$src" && git ls-files -z -c -o --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar --null -T - -cf "$outtar")
else
    (cd "$src" && tar --exclude-vcs --exclude='*.o' --exclude='*.lo' --exclude='.libs' \
        --exclude='.deps' --exclude=autom4te.cache -cf "$outtar" .)
fi
