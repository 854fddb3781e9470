#!/bin/sh
# Seed the corpus from the fixture images and fuzz `load` + the text form; or, with
# FUZZ_TARGET=share, the share-link reader (share::from_bytes / share::decode); with
# FUZZ_TARGET=criu, the CRIU image directory reader (criu::open, to_scenario, crit JSON);
# with FUZZ_TARGET=archive, the checkpoint archive reader (seeds: fixtures/criu/archives).
# Usage: [FUZZ_TARGET=share|criu|archive] fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
set -eu
cd "$(dirname "$0")"
secs="${1:-600}"
[ $# -gt 0 ] && shift
mkdir -p corpus/load
for d in ../fixtures/images/valid ../fixtures/images/invalid ../fixtures/images/fuzz; do
    [ -d "$d" ] && cp -n "$d"/*.rsimg corpus/load/ 2>/dev/null || true
done
if [ "${FUZZ_TARGET:-load}" = criu ]; then
    # One seed per CRIU fixture set: its files joined by \0CRF, each led by its index in the
    # target's NAMES list (files whose name is not there are left out).
    mkdir -p corpus/criu
    names="inventory.img pstree.img ids-100.img core-100.img fdinfo-100.img files.img sk-queues.img unixsk.img inetsk.img tcp-stream-7532.img ids-101.img core-101.img fdinfo-101.img reg-files.img pipes.img netdev-1.img"
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
    exec cargo +nightly fuzz run criu corpus/criu -- -max_len=262144 \
        -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 "$@"
fi
if [ "${FUZZ_TARGET:-load}" = share ]; then
    mkdir -p corpus/share
    exec cargo +nightly fuzz run share corpus/share -- -max_len=65536 \
        -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 "$@"
fi
if [ "${FUZZ_TARGET:-load}" = archive ]; then
    mkdir -p corpus/archive
    cp -n ../fixtures/criu/archives/* corpus/archive/ 2>/dev/null || true
    exec cargo +nightly fuzz run archive corpus/archive -- -max_len=262144 \
        -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 "$@"
fi
exec cargo +nightly fuzz run load corpus/load -- -dict=load.dict -max_len=65536 \
    -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 "$@"
