#!/usr/bin/env bats
# What make install puts in place works for others: a C11 program and a
# C++ program that include the public headers build with pkg-config's
# libfp.pc alone (jansson public, in Requires) and run; the cron line and
# the systemd unit name fp-retrain by the configured bindir; the installed
# man pages name the configured pkgdatadir.
load helpers

setup_file() {
    : "${FP_TOP_BUILDDIR:=$FP_TOP_SRCDIR}"
    export D=$BATS_FILE_TMPDIR/dest PD=/opt/fp-test/share/fp
    # pkgdatadir overridden at install time: the man pages follow it
    make -s -C "$FP_TOP_BUILDDIR" install DESTDIR="$D" pkgdatadir="$PD" > "$BATS_FILE_TMPDIR/install.log" 2>&1 ||
        { cat "$BATS_FILE_TMPDIR/install.log" >&2; return 1; }
}

# pkg-config over the installed tree
pc() {
    local pcdir
    pcdir=$(dirname "$(find "$D" -name libfp.pc | head -1)")
    PKG_CONFIG_SYSROOT_DIR=$D PKG_CONFIG_PATH=$pcdir pkg-config "$@"
}
libdir_of() { dirname "$(find "$D" -name 'libfp.so*' | head -1)"; }

prog() {
    cat <<'EOF'
#include <stdio.h>
#include <string.h>
#include <fp.h>
int main(void)
{
    fp_err err;
    fp_target tg;
    memset(&err, 0, sizeof err);
    memset(&tg, 0, sizeof tg);
    strcpy(tg.id, "ext");
    json_t *rec = fp_record_new("sample", &tg, 1.5, 0);
    if (!rec || fp_record_write(stdout, rec, &err) < 0) return 1;
    json_decref(rec);
    return 0;
}
EOF
}

@test "libfp.pc: a C11 program including <fp.h> builds with pkg-config alone (-std=c11 -pedantic) and runs" {
    need_cmd pkg-config
    need_cmd jq
    pc --exists libfp
    pc --print-requires libfp | grep -q '^jansson'
    prog > "$BATS_TEST_TMPDIR/p.c"
    cc -std=c11 -pedantic -Wall -Werror -o "$BATS_TEST_TMPDIR/p" "$BATS_TEST_TMPDIR/p.c" $(pc --cflags --libs libfp)
    run env LD_LIBRARY_PATH="$(libdir_of)" "$BATS_TEST_TMPDIR/p"
    [ "$status" -eq 0 ]
    [ "$(jq -r '.type + " " + .id' <<<"$output")" = "sample ext" ]
}

@test "every public header compiles alone under -std=c11 -pedantic, and from C++ (extern \"C\")" {
    need_cmd g++
    local h inc
    inc=$(find "$D" -name fp.h -path '*/include/fp.h' | head -1)
    inc=${inc%/fp.h}
    for h in "$inc"/fp.h "$inc"/fp/*.h; do
        h=${h#"$inc"/}
        printf '#include <%s>\nint main(void) { return 0; }\n' "$h" > "$BATS_TEST_TMPDIR/h.c"
        cc -std=c11 -pedantic -Wall -Werror -fsyntax-only $(pc --cflags libfp) "$BATS_TEST_TMPDIR/h.c" ||
            { echo "C11: $h" >&2; return 1; }
    done
    prog > "$BATS_TEST_TMPDIR/p.cc"
    g++ -std=c++11 -Wall -Werror -o "$BATS_TEST_TMPDIR/pp" "$BATS_TEST_TMPDIR/p.cc" $(pc --cflags --libs libfp)
    run env LD_LIBRARY_PATH="$(libdir_of)" "$BATS_TEST_TMPDIR/pp"
    [ "$status" -eq 0 ]
    [ "$(jq -r .id <<<"$output")" = ext ]
}

@test "the cron line and the unit run fp-retrain from the configured bindir; the man pages name the configured pkgdatadir" {
    [ -n "${FP_BINDIR:-}" ] || skip "FP_BINDIR comes from make check"
    cron=$(find "$D" -name fp-retrain.cron)
    unit=$(find "$D" -name fp-retrain.service)
    [ "$(grep -v '^#' "$cron" | awk '{ print $7 }')" = "$FP_BINDIR/fp-retrain" ]
    grep -qx "ExecStart=$FP_BINDIR/fp-retrain .*" "$unit"
    man=$(find "$D" -name fp-run.1)
    grep -q "$PD/default\\\\-model.json" "$man"
    ! grep -q /usr/local/share/fp "$man" || [ "$PD" = /usr/local/share/fp ]
}

@test "the bash completion is installed where bash-completion looks, under each tool's name" {
    [ -n "${FP_BASHCOMPDIR:-}" ] || skip "FP_BASHCOMPDIR comes from make check"
    local dir=$D$FP_BASHCOMPDIR t
    [ -f "$dir/fp-capture" ] && [ ! -L "$dir/fp-capture" ]
    cmp "$dir/fp-capture" "$FP_TOP_SRCDIR/share/bash-completion/fp"
    for t in fp-apply fp-train fp-predict fp-diff fp-run fp-retrain fp-profile; do
        [ "$(readlink "$dir/$t")" = fp-capture ] || { echo "$t: not a link to fp-capture" >&2; return 1; }
    done
    # bash-completion's own directory when it shares the prefix, else the
    # prefix's share/bash-completion/completions (found through XDG_DATA_DIRS)
    case $FP_BASHCOMPDIR in
        */share/bash-completion/completions) ;;
        *) echo "unexpected completion dir $FP_BASHCOMPDIR" >&2; return 1 ;;
    esac
    # and make uninstall takes it away again
    make -s -C "${FP_TOP_BUILDDIR:-$FP_TOP_SRCDIR}" uninstall DESTDIR="$D" pkgdatadir="$PD" > /dev/null 2>&1
    [ -z "$(ls -A "$dir" 2>/dev/null)" ]
}
