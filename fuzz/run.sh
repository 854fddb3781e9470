#!/bin/sh
# Seed the corpus of one fuzz target from the fixtures and run it (README.md says what each
# target checks). FUZZ_TARGET picks it:
#   load     (default) load + the text form's decode/encode on raw image bytes
#   text     the JSON forms read from text: text::encode, Scenario::from_json
#   share    the share-link reader (share::from_bytes / share::decode)
#   criu     the CRIU image directory reader (criu::open, to_scenario, crit JSON)
#   archive  the checkpoint archive reader (seeds: fixtures/criu/archives)
#   edit     the scenario editor's operations (edit::apply sequences, gen.rs)
#   plan     the planner + simulator + checker on valid images (raw, edited or generated)
# Usage: [FUZZ_TARGET=...] fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
set -eu
cd "$(dirname "$0")"
secs="${1:-600}"
[ $# -gt 0 ] && shift
target="${FUZZ_TARGET:-load}"
limits="-rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10"
images() {
    for d in ../fixtures/images/valid ../fixtures/images/invalid ../fixtures/images/fuzz; do
        [ -d "$d" ] && ls "$d"/*.rsimg 2>/dev/null || true
    done
}
mkdir -p "corpus/$target"
case "$target" in
load)
    for f in $(images); do cp -n "$f" corpus/load/; done
    # shellcheck disable=SC2086
    exec cargo +nightly fuzz run load corpus/load -- -dict=load.dict -max_len=65536 \
        -max_total_time="$secs" $limits "$@"
    ;;
text)
    # The record text form of every fixture image, and every fixture scenario.
    # shellcheck disable=SC2046
    cargo run -q --example text_seeds -- corpus/text $(images)
    for f in ../fixtures/src/valid/*.json ../fixtures/src/invalid/*.json; do
        cp -n "$f" "corpus/text/scenario-$(basename "$f")"
    done
    # shellcheck disable=SC2086
    exec cargo +nightly fuzz run text corpus/text -- -dict=text.dict -max_len=65536 \
        -max_total_time="$secs" $limits "$@"
    ;;
criu)
    # One seed per CRIU fixture set: its files joined by \0CRF, each led by its index in the
    # target's NAMES list (files whose name is not there are left out).
    names="inventory.img pstree.img ids-100.img core-100.img fdinfo-100.img files.img sk-queues.img unixsk.img inetsk.img tcp-stream-7532.img ids-101.img core-101.img fdinfo-101.img reg-files.img pipes.img netdev-1.img ifaddr-2.img netdev-2.img route-2.img route6-2.img netns-2.img"
    for set in ../fixtures/criu/images/*/*; do
        out="corpus/criu/$(basename "$(dirname "$set")")-$(basename "$set")"
        : >"$out"
        i=0
        for n in $names; do
            if [ -f "$set/$n" ]; then
                printf "\\$(printf %o "$i")" >>"$out"
                cat "$set/$n" >>"$out"
                printf '\0CRF' >>"$out"
            fi
            i=$((i + 1))
        done
    done
    # shellcheck disable=SC2086
    exec cargo +nightly fuzz run criu corpus/criu -- -max_len=262144 \
        -max_total_time="$secs" $limits "$@"
    ;;
share)
    # shellcheck disable=SC2086
    exec cargo +nightly fuzz run share corpus/share -- -max_len=65536 \
        -max_total_time="$secs" $limits "$@"
    ;;
archive)
    cp -n ../fixtures/criu/archives/* corpus/archive/ 2>/dev/null || true
    exec cargo +nightly fuzz run archive corpus/archive -- -max_len=262144 \
        -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 "$@"
    ;;
edit)
    # Structured input (gen.rs reads it with arbitrary::Unstructured): no seeds needed.
    # shellcheck disable=SC2086
    exec cargo +nightly fuzz run edit corpus/edit -- -max_len=4096 \
        -max_total_time="$secs" $limits "$@"
    ;;
plan)
    # Raw images are led by a mode byte: 0 (loopback host) or 0x80 (with the image's addresses).
    for f in $(images); do
        b=$(basename "$f" .rsimg)
        [ -f "corpus/plan/raw-$b" ] || { printf '\0' && cat "$f"; } >"corpus/plan/raw-$b"
        [ -f "corpus/plan/raw80-$b" ] || { printf '\200' && cat "$f"; } >"corpus/plan/raw80-$b"
    done
    # shellcheck disable=SC2086
    exec cargo +nightly fuzz run plan corpus/plan -- -dict=load.dict -max_len=65536 \
        -max_total_time="$secs" $limits "$@"
    ;;
*)
    echo "FUZZ_TARGET: load, text, share, criu, archive, edit or plan" >&2
    exit 2
    ;;
esac
