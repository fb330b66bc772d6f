#!/usr/bin/env bats
# The bash completion (share/bash-completion/fp), loaded into a bash as
# bash-completion would: options from each tool's --help (every long
# option offered, so the script cannot drift from the tools), model files
# for -m, containers for --docker, systemd units for --unit, choices,
# files, and the command line after "--".
load helpers

setup() {
    SCRIPT=$FP_TOP_SRCDIR/share/bash-completion/fp
    T=$BATS_TEST_TMPDIR
    export PATH="$FP_BIN:$PATH"
}

TOOLS="fp-capture fp-apply fp-train fp-predict fp-diff fp-run fp-retrain fp-profile"

# comp LINE: the completions of LINE with the cursor at its end, one a
# line, from a fresh bash that sourced the script (words split at blanks
# and at "=" as readline's COMP_WORDBREAKS does)
comp() {
    bash --norc --noprofile -c '
        source "$1" || exit 1
        line=$2
        words=()
        w=
        for ((k = 0; k < ${#line}; k++)); do
            c=${line:k:1}
            if [[ $c == " " ]]; then [[ -n $w ]] && words+=("$w"); w=
            elif [[ $c == "=" ]]; then [[ -n $w ]] && words+=("$w"); words+=("="); w=
            else w+=$c; fi
        done
        words+=("$w")
        COMP_WORDS=("${words[@]}")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        COMP_LINE=$line
        COMP_POINT=${#line}
        spec=$(complete -p "${COMP_WORDS[0]}") || exit 1
        fn=$(sed -n "s/.*-F \([^ ]*\) .*/\1/p" <<<"$spec")
        "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$SCRIPT" "$1"
}

@test "the script registers every tool and loads without bash-completion" {
    run bash --norc --noprofile -c 'source "$1" && complete -p' _ "$SCRIPT"
    [ "$status" -eq 0 ]
    for t in $TOOLS; do
        [[ "$output" == *"-F _fp $t"* ]] || { echo "no completion for $t" >&2; return 1; }
    done
}

@test "each tool's --help is read once per shell" {
    mkdir -p "$T/fake"
    printf '#!/bin/sh\necho x >> "%s/calls"\nexec "%s/fp-run" "$@"\n' "$T" "$FP_BIN" > "$T/fake/fp-run"
    chmod +x "$T/fake/fp-run"
    PATH="$T/fake:$PATH" run bash --norc --noprofile -c '
        source "$1"
        for i in 1 2 3; do
            COMP_WORDS=(fp-run --mo); COMP_CWORD=1; _fp fp-run --mo fp-run
        done
        printf "%s\n" "${COMPREPLY[@]}"' _ "$SCRIPT"
    [ "$output" = --model ]
    [ "$(wc -l < "$T/calls")" -eq 1 ]
}

@test "fp-run --mo completes to --model" {
    run comp "fp-run --mo"
    [ "$status" -eq 0 ]
    [ "$output" = --model ]
    run comp "fp-diff --textfile-e"
    [ "$output" = --textfile-expire ]
}

@test "fp-predict -m offers .json files and directories, not other files" {
    mkdir -p "$T/d/models"
    : > "$T/d/a.json"
    : > "$T/d/b.jsonl"
    : > "$T/d/c.txt"
    cd "$T/d"
    run comp "fp-predict -m "
    [ "$status" -eq 0 ]
    [ "$(sort <<<"$output" | paste -sd,)" = a.json,models ]
    run comp "fp-predict --model "
    [ "$(sort <<<"$output" | paste -sd,)" = a.json,models ]
    run comp "fp-run --model=a"
    [ "$output" = a.json ]
    run comp "fp-retrain "
    [ "$(sort <<<"$output" | paste -sd,)" = a.json,models ]
    # a plain FILE argument: every file
    run comp "fp-apply -P "
    [ "$(sort <<<"$output" | paste -sd,)" = a.json,b.jsonl,c.txt,models ]
}

@test "every long option each tool's --help lists is offered, and its short letters" {
    for t in $TOOLS; do
        want=$("$FP_BIN/$t" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
        [ "$(wc -l <<<"$want")" -ge 8 ]
        got=$(comp "$t --" | sort -u)
        missing=$(comm -23 <(echo "$want") <(echo "$got"))
        [ -z "$missing" ] || { echo "$t: not offered: $missing" >&2; return 1; }
        extra=$(comm -13 <(echo "$want") <(echo "$got"))
        [ -z "$extra" ] || { echo "$t: offered but not in --help: $extra" >&2; return 1; }
        # "-X, --long" letters are offered after a single dash
        letters=$("$FP_BIN/$t" --help | grep -oE -- '-[a-zA-Z], --' | cut -c1-2 | sort -u)
        got=$(comp "$t -" | sort -u)
        missing=$(comm -23 <(echo "$letters") <(echo "$got"))
        [ -z "$missing" ] || { echo "$t: letters not offered: $missing" >&2; return 1; }
    done
}

@test "--docker offers the running containers, --unit the systemd units (fakes on PATH)" {
    mkdir -p "$T/fake"
    cat > "$T/fake/docker" <<'EOF'
#!/bin/sh
[ "$1 $2 $3" = "ps --format {{.Names}}" ] && printf 'web\nworker-1\ndb\n'
EOF
    cat > "$T/fake/systemctl" <<'EOF'
#!/bin/sh
[ "$1" = list-units ] && printf 'nginx.service loaded active running A web server\nuser.slice loaded active active User Slice\n'
EOF
    chmod +x "$T/fake/docker" "$T/fake/systemctl"
    PATH="$T/fake:$PATH"
    run comp "fp-run --docker w"
    [ "$(paste -sd, <<<"$output")" = web,worker-1 ]
    run comp "fp-capture --docker "
    [ "$(paste -sd, <<<"$output")" = web,worker-1,db ]
    run comp "fp-run --unit ng"
    [ "$output" = nginx.service ]
    run comp "fp-apply --unit "
    [ "$(paste -sd, <<<"$output")" = nginx.service,user.slice ]
}

@test "choices, lists, and the command line after --" {
    run comp "fp-diff --chart "
    [ "$(paste -sd, <<<"$output")" = band,tradeoff ]
    run comp "fp-apply -b d"
    [ "$output" = docker ]
    run comp "fp-apply --overcommit "
    [ "$(paste -sd, <<<"$output")" = scale,priority,refuse,allow ]
    run comp "fp-train -M "
    [ "$(paste -sd, <<<"$output")" = linear,knn,vpa,autopilot,lstm,gru,transformer,auto ]
    run comp "fp-apply --enable io_read_Bps,net"
    [ "$output" = io_read_Bps,net_tx_Bps ]
    run comp "fp-run --cgroup-driver s"
    [ "$output" = systemd ]
    # an option's number: nothing offered
    run comp "fp-run -i "
    [ -z "$output" ]
    # after --, a command, then its own arguments
    run comp "fp-run -m x.json -- stress-n"
    [[ "$output" == *stress-ng* ]] || [ -z "$(compgen -c stress-n 2>/dev/null)" ]
    run comp "fp-capture -- bas"
    [[ "$output" == *bash* ]]
    cd "$T" && : > job.sh
    run comp "fp-run -- bash jo"
    [ "$output" = job.sh ]
}

@test "bash-completion loads the installed script on the first TAB (its loader, XDG_DATA_DIRS)" {
    [ -r /usr/share/bash-completion/bash_completion ] || fp_require "bash-completion (Debian: bash-completion)"
    mkdir -p "$T/share/bash-completion/completions"
    cp "$SCRIPT" "$T/share/bash-completion/completions/fp-capture"
    ln -s fp-capture "$T/share/bash-completion/completions/fp-run"
    run env XDG_DATA_DIRS="$T/share" BASH_COMPLETION_USER_DIR="$T/none" bash --norc --noprofile -i -c '
        source /usr/share/bash-completion/bash_completion
        __load_completion fp-run && complete -p fp-run' 2>/dev/null
    echo "$output"
    [[ "$output" == *"complete -F _fp fp-run"* ]]
}
