#!/bin/sh
# report.sh: what a run leaves behind to be looked at, through compiled executables (two tiny
# toys, tests/record/*.gan, built at -O1): the run record (run.json's fields, source.gan, a
# resumed run appending its session), the `time` of every log line (present, never going back,
# across a resume too), the checkpoints' __metadata__, the scatter and histogram PNGs, and
# `ganc report` (its HTML's structure, its errors, and the page in headless Chromium: no console
# error, every picture decoded, every curve in the DOM, a screenshot that is not blank).
# About 50 s on two loaded cores, half of it Chromium's two page loads.
# Needs build/ganc, build/png_ink; chromium for the browser checks (`make test` installs it).
cd "$(dirname "$0")/.." || exit 1
GANC=build/ganc
. tests/check.sh

"$GANC" tests/record/toy2d.gan -O1 -o "$tmp/toy2d" > "$tmp/build.out" 2>&1 &&
    "$GANC" tests/record/toy1d.gan -O1 -o "$tmp/toy1d" >> "$tmp/build.out" 2>&1
check $? "report: the toys build" "$(tail -3 "$tmp/build.out")"
a=$tmp/runs/a b=$tmp/runs/b c=$tmp/runs/c
"$tmp/toy2d" --steps 20 --set lambda=5 --out "$a" --quiet > "$tmp/run.out" 2>&1 &&
    "$tmp/toy2d" --steps 10 --seed 4 --set lambda=1 --out "$b" --quiet >> "$tmp/run.out" 2>&1 &&
    cp "$b/run.json" "$tmp/b_first.json" &&
    "$tmp/toy2d" --steps 20 --set lambda=1 --resume "$b/ckpt/last.safetensors" --out "$b" --quiet >> "$tmp/run.out" 2>&1 &&
    "$tmp/toy1d" --out "$c" --quiet >> "$tmp/run.out" 2>&1
check $? "report: the runs (a: lambda=5; b: seed 4, lambda=1, 10 steps then resumed to 20; c: 1-D)" "$(tail -3 "$tmp/run.out")"

# --- the run record ---
field() { # field FILE LINE KEY: the raw JSON value of KEY on line LINE of FILE
    sed -n "${2}p" "$1" | grep -o "\"$3\": \\(\"[^\"]*\"\\|[^,}]*\\)" | sed "s/^\"$3\": //"
}
sha=$(sha256sum tests/record/toy2d.gan | cut -d' ' -f1)
# the commit baked into this build (the Makefile's build/version.h, from `git rev-parse HEAD`)
commit=$(sed -n 's/^#define GANC_COMMIT "\(.*\)"$/\1/p' build/version.h)
echo "$commit" | grep -Eqx '[0-9a-f]{40}|unknown'
check $? "report: the build records its git commit" "'$commit'"
why=""
for kv in "experiment=\"toy2d\"" "source=\"tests/record/toy2d.gan\"" "source_sha256=\"$sha\"" "dtype=\"f32\"" \
          "seed=3" "batch=64" "steps=20" "first_step=1" "resumed_from=null" "hyper.lambda=5" "ganc_commit=\"$commit\""; do
    key=${kv%%=*} want=${kv#*=}
    [ "$(field "$a/run.json" 2 "$key")" = "$want" ] || why="$why $key is $(field "$a/run.json" 2 "$key"), not $want;"
done
for key in ganc_version host start_time threads; do
    [ -n "$(field "$a/run.json" 2 "$key")" ] || why="$why no $key;"
done
field "$a/run.json" 2 command | grep -q -- "--set lambda=5 --out $a --quiet\"$" || why="$why command is $(field "$a/run.json" 2 command);"
field "$a/run.json" 2 start_time | grep -Eq '^"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"$' || why="$why start_time;"
[ "$(sed -n 1p "$a/run.json")" = '{"sessions": [' ] && [ "$(sed -n 3p "$a/run.json")" = ']}' ] || why="$why not one session between the brackets;"
check "$([ -z "$why" ]; echo $?)" "report: run.json holds the session's fields" "$why"
cmp -s "$a/source.gan" tests/record/toy2d.gan
check $? "report: source.gan is the compiled source"

head -n 2 "$tmp/b_first.json" > "$tmp/b_kept"
head -n 2 "$b/run.json" | sed '$s/,$//' > "$tmp/b_now"
cmp -s "$tmp/b_kept" "$tmp/b_now" && [ "$(wc -l < "$b/run.json")" -eq 4 ] &&
    [ "$(field "$b/run.json" 3 first_step)" = 11 ] &&
    [ "$(field "$b/run.json" 3 resumed_from)" = "\"$b/ckpt/last.safetensors\"" ]
check $? "report: a resumed run appends its session (first_step 11, resumed_from), the first kept" "$(cat "$b/run.json")"

# --- timed log lines ---
for run in "$a" "$b"; do
    awk '{ if (match($0, /^\{"step": [0-9]+, "time": [0-9.]+[,}]/) == 0) { print "no time: " $0; exit 1 }
           split($0, f, /"time": /); t = f[2] + 0
           if (t < last) { print "time goes back at: " $0; exit 1 } last = t }' "$run/log.jsonl" > "$tmp/time.out"
    check $? "report: every log line of $(basename "$run") has a time, never decreasing" "$(cat "$tmp/time.out")"
done

# --- checkpoint metadata ---
header=$(tail -c +9 "$b/ckpt/last.safetensors" | head -c 3000 | tr -d '\0')
case "$header" in
*'{"__metadata__":{"experiment":"toy2d","dtype":"f32","seed":"4",'*'"first_step":"11",'*'"hyper.lambda":"1",'*"\"source_sha256\":\"$sha\""*) rc=0 ;;
*) rc=1 ;;
esac
"$GANC" compare "$b/ckpt/last.safetensors" "$b/ckpt/step_20.safetensors" > "$tmp/cmp.out" 2>&1
check $((rc + $?)) "report: checkpoints carry the run record as string metadata, and still read" "$(echo "$header" | head -c 300)"

# --- plots ---
set -- $(build/png_ink "$a/samples/fake_20.png" 2>&1)
[ "$1" = 400 ] && [ "$2" = 400 ] && [ "$3" -gt 2000 ] && [ "$3" -lt 100000 ]
check $? "report: 2-D samples as a 400x400 scatter PNG, neither blank nor filled" "$*"
set -- $(build/png_ink "$c/samples/fake_20.png" 2>&1)
[ "$1" = 400 ] && [ "$2" = 400 ] && [ "$3" -gt 1000 ]
check $? "report: 1-D samples as a 400x400 histogram PNG, not blank" "$*"

# --- ganc report ---
# under valgrind when there is one: the report frees what it allocates, and reads nothing wrong
vg=""
command -v valgrind > /dev/null && vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=9"
$vg "$GANC" report "$a" "$b" "$c" -o "$tmp/r.html" > "$tmp/report.out" 2>&1
check $? "report: ganc report a b c -o r.html${vg:+ (valgrind: no leak, no memory error)}" "$(head -5 "$tmp/report.out")"
curves=0
for run in "$a" "$b" "$c"; do # the numeric keys of each log but the bookkeeping ones
    n=$(grep -o '"[^"]*": [-0-9.eE]*[,}]' "$run/log.jsonl" | sed 's/": .*//' | sort -u |
        grep -vxE '"(step|time|modes total|fid samples)' | wc -l)
    curves=$((curves + n))
done
frames=$(ls "$a/samples" "$b/samples" "$c/samples" | grep -c '\.png$')
got_curves=$(grep -o 'class="curve"' "$tmp/r.html" | wc -l)
got_images=$(grep -o '<img ' "$tmp/r.html" | wc -l)
grep -q 'lambda=5 <span class="dir">' "$tmp/r.html" && grep -q 'seed=4 batch=64 lambda=1 <span' "$tmp/r.html" &&
    [ "$got_curves" -eq "$curves" ] && [ "$got_images" -eq "$frames" ] && ! grep -Eq '(src|href)="(https?:|//)|url\(|@import' "$tmp/r.html" &&
    grep -q '<tr class="differs"><td>hyper.lambda</td><td>5</td><td>1</td><td></td></tr>' "$tmp/r.html" &&
    grep -q '<td>first_step</td><td>1</td><td>1<br><span class="session">session 2: 11</span>' "$tmp/r.html"
check $? "report: the HTML has $curves curves, $frames pictures, nothing fetched from elsewhere, legends from the differing --set values and seeds, the sessions side by side" \
    "$got_curves curves, $got_images pictures"
printf '{"step": 1, "loss D": 2}\nnot json\n' > "$tmp/bad.jsonl"
mkdir -p "$tmp/bad" && cp "$tmp/bad.jsonl" "$tmp/bad/log.jsonl"
"$GANC" report "$tmp/bad" -o "$tmp/x.html" > "$tmp/err1" 2>&1; rc1=$?
"$GANC" report "$tmp/nothing" -o "$tmp/x.html" > "$tmp/err2" 2>&1; rc2=$?
"$GANC" report "$a" > "$tmp/err3" 2>&1; rc3=$?
[ $rc1 = 1 ] && grep -q "bad/log.jsonl:2: not a log line" "$tmp/err1" && [ $rc2 = 1 ] && grep -q "nothing/log.jsonl" "$tmp/err2" &&
    [ $rc3 = 1 ] && grep -q "needs -o" "$tmp/err3" && [ ! -e "$tmp/x.html" ]
check $? "report: a malformed log, a missing run and a missing -o are clear errors" "$(cat "$tmp/err1" "$tmp/err2" "$tmp/err3" | tr '\n' ' ')"

# --- in a browser: headless Chromium, as root without its sandbox ---
if ! command -v chromium > /dev/null; then
    check 1 "report: headless Chromium" "chromium is not installed (make test installs it)"
    exit 0
fi
chrome() { timeout 60 chromium --headless --disable-gpu --no-sandbox --no-first-run --user-data-dir="$tmp/chrome" "$@"; }
chrome --enable-logging=stderr --v=0 --dump-dom "file://$tmp/r.html" > "$tmp/dom.html" 2> "$tmp/chrome.err"
rc=$?
dom_curves=$(grep -o 'class="curve"' "$tmp/dom.html" | wc -l)
loaded=$(grep -o 'data-images-loaded="[^"]*"' "$tmp/dom.html")
[ $rc = 0 ] && ! grep -q ':CONSOLE' "$tmp/chrome.err" && [ "$dom_curves" -eq "$curves" ] &&
    [ "$loaded" = "data-images-loaded=\"$frames/$frames\"" ]
check $? "report: Chromium loads the page: no console error, $curves curves in the DOM, every picture decoded" \
    "rc $rc, $dom_curves curves, $loaded, $(grep ':CONSOLE' "$tmp/chrome.err" | head -3)"
chrome --screenshot="$tmp/shot.png" --window-size=1000,1400 "file://$tmp/r.html" > /dev/null 2>&1
set -- $(build/png_ink "$tmp/shot.png" 2>&1)
[ "$1" = 1000 ] && [ "$2" = 1400 ] && [ "$3" -gt 20000 ]
check $? "report: Chromium's screenshot of the page is not blank (over 20000 non-white pixels)" "$*"
