#!/bin/sh
# tests/fuzz/build.sh MODE OUTDIR - build every fuzz harness
# (tests/fuzz/fuzz-*.c) against libfp's sources (src/*.c), compiled here
# with the harness's own flags into OUTDIR/obj (kept between runs; an
# object is rebuilt when its source, a header, config.h or the flags
# change, by checksum). Harnesses land in OUTDIR/NAME (NAME = fuzz-record, ...).
#   MODE fuzz    libFuzzer: clang -fsanitize=fuzzer-no-link,address,undefined
#                for libfp, -fsanitize=fuzzer,address,undefined for the
#                harness. The compiler is $FP_FUZZ_CC, else the configured
#                CC when it is clang (--enable-fuzzing), else clang.
#   MODE replay  no libFuzzer: the configured CC (with ASan+UBSan when
#                configured with --enable-sanitizers or --enable-fuzzing),
#                tests/fuzz/standalone.c as main(): runs each file given.
# Needs FP_TOP_SRCDIR and FP_TOP_BUILDDIR (set by make check; by hand:
# FP_TOP_SRCDIR=. FP_TOP_BUILDDIR=. tests/fuzz/build.sh fuzz tests/fuzz/bin).
# FP_FUZZ_JOBS compiles that many files at once (default 2).
# Exit 0 built; 1 a compile error; 77 MODE fuzz and no working libFuzzer
# (the reason on standard error).
set -eu
mode=${1:?usage: build.sh fuzz|replay OUTDIR}
out=${2:?usage: build.sh fuzz|replay OUTDIR}
src=${FP_TOP_SRCDIR:?FP_TOP_SRCDIR is not set}
bld=${FP_TOP_BUILDDIR:?FP_TOP_BUILDDIR is not set}
env="$bld/tests/fuzz/fuzz-env.sh"
[ -r "$env" ] || { echo "build.sh: $env is missing (run ./configure)" >&2; exit 1; }
. "$env"
jobs=${FP_FUZZ_JOBS:-2}
base="-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -I$src/src -I$bld -I$src/tests/fuzz $FZ_DEP_CFLAGS"
case $mode in
fuzz)
    cc=${FP_FUZZ_CC:-}
    if [ -z "$cc" ]; then
        case $($FZ_CONF_CC --version 2>/dev/null | head -n 1) in
        *clang*) cc=$FZ_CONF_CC ;;
        *) cc=clang ;;
        esac
    fi
    command -v "${cc%% *}" >/dev/null 2>&1 ||
        { echo "build.sh: no clang ($cc) for libFuzzer (Debian: clang libclang-rt-dev)" >&2; exit 77; }
    san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
    libflags="$base $san -fsanitize=fuzzer-no-link"
    linkflags="$san -fsanitize=fuzzer"
    main=
    ;;
replay)
    cc=$FZ_CONF_CC
    san=
    if [ "$FZ_CONF_SANITIZERS" = yes ] || [ "$FZ_CONF_FUZZING" = yes ]; then
        san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
    fi
    libflags="$base $san"
    linkflags="$san"
    main="$src/tests/fuzz/standalone.c"
    ;;
*) echo "build.sh: unknown mode $mode" >&2; exit 1 ;;
esac
mkdir -p "$out/obj"
export cc libflags linkflags base out
tmp="$out/obj/.probe"
if [ "$mode" = fuzz ]; then
    printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return 0; }\n' > "$tmp.c"
    if ! $cc $linkflags "$tmp.c" -o "$tmp" >"$tmp.log" 2>&1; then
        echo "build.sh: $cc cannot link a libFuzzer harness (Debian: clang libclang-rt-dev):" >&2
        sed 's/^/  /' "$tmp.log" | head -n 5 >&2
        rm -f "$tmp" "$tmp.c"
        exit 77
    fi
    rm -f "$tmp" "$tmp.c" "$tmp.log"
fi
# An object or harness is rebuilt when the checksum of what it is made of
# (its source, every header, config.h, the compiler and flags) changed.
sum() { cat "$@" | cksum | tr -d ' '; }
hsum=$(sum "$src"/src/*.h "$src"/src/fp/*.h "$bld/config.h")
stamp=$(printf '%s' "$cc $libflags $linkflags" | cksum | tr -d ' ')
stale=
for c in "$src"/src/*.c; do
    o="$out/obj/$(basename "$c" .c).o"
    want="$(sum "$c") $hsum $stamp"
    if [ ! -f "$o" ] || [ "$(cat "$o.sum" 2>/dev/null)" != "$want" ]; then
        stale="$stale $c"
        printf '%s\n' "$want" > "$o.want"
    fi
done
# objects of sources that are gone
for o in "$out"/obj/*.o; do
    [ -f "$o" ] || continue
    [ -f "$src/src/$(basename "$o" .o).c" ] || { rm -f "$o" "$o.sum"; stale="$stale (removed)"; }
done
if [ -n "$stale" ] || [ ! -f "$out/obj/libfp-fuzz.a" ]; then
    # shellcheck disable=SC2016
    if ! printf '%s\n' $stale | grep -v '^(removed)$' |
        xargs -r -P "$jobs" -I{} sh -c 'f={}; o="$out/obj/$(basename "$f" .c).o"; $cc $libflags -c "$f" -o "$o.tmp" && mv "$o.tmp" "$o" && mv "$o.want" "$o.sum" || { rm -f "$o.tmp" "$o.sum"; exit 255; }'; then
        echo "build.sh: compiling libfp failed" >&2
        exit 1
    fi
    rm -f "$out/obj/libfp-fuzz.a"
    ${AR:-ar} rcs "$out/obj/libfp-fuzz.a" "$out"/obj/*.o
fi
lsum=$(sum "$out/obj/libfp-fuzz.a" "$src"/tests/fuzz/*.h $main)
for h in "$src"/tests/fuzz/fuzz-*.c; do
    name=$(basename "$h" .c)
    want="$(sum "$h") $lsum $stamp"
    if [ -f "$out/$name" ] && [ "$(cat "$out/.$name.sum" 2>/dev/null)" = "$want" ]; then continue; fi
    printf '%s\n' "$want" > "$out/.$name.want"
    printf '%s\n' "$h"
done | xargs -r -P "$jobs" -I{} sh -c 'h={}; n=$(basename "$h" .c); $cc $base $linkflags "$h" '"$main"' "$out/obj/libfp-fuzz.a" '"$FZ_DEP_LIBS"' -o "$out/$n" && mv "$out/.$n.want" "$out/.$n.sum" || exit 255' ||
    { echo "build.sh: building a harness failed" >&2; exit 1; }
exit 0
