#!/bin/sh
# sizey-eval.sh - fp against the published workflow-sizing methods on the
# Sizey protocol (issue 19), per workflow, in one run. Not part of make check.
#
#   tests/bench/sizey-eval.sh [--seed N] [--min-tasks N] [--lowo] TRACE...
#
# --lowo adds the leave-one-workflow-out run (fp only, trained on the other
# traces). TRACE: Nextflow trace files (CSV or TSV, gzip or plain), e.g.
#   tests/bench/sizey-eval.sh ../shared/data/nextflow-sizey/trace_*.csv.gz
# The protocol, the baselines and what differs from the authors' code are
# described at the top of tests/bench/sizey-eval.py; fp's side runs through
# libfp (tests/bench/nfc-online, built here on demand). Needs python3.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${FP_TOP_BUILDDIR:-$top}
if [ $# -eq 0 ]; then
    echo "usage: $0 [--seed N] [--min-tasks N] TRACE..." >&2
    exit 2
fi
for a in "$@"; do
    case $a in --*|[0-9]*) ;; *) [ -e "$a" ] || { echo "sizey-eval: $a: no such trace (the Sizey traces are in ../shared/data/nextflow-sizey)" >&2; exit 2; } ;; esac
done
command -v python3 >/dev/null || { echo "sizey-eval: needs python3" >&2; exit 2; }
make -s -C "$build" tests/bench/nfc-online >&2
exec python3 "$here/sizey-eval.py" --online "$build/tests/bench/nfc-online" "$@"
