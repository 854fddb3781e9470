#!/bin/sh
# Seed the corpus from the fixture images and fuzz `load` + the text form; or, with
# FUZZ_TARGET=share, the share-link reader (share::from_bytes / share::decode).
# With FUZZ_TARGET=archive, the checkpoint archive reader (seeds: fixtures/criu/archives).
# Usage: [FUZZ_TARGET=share|archive] fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
set -eu
cd "$(dirname "$0")"
secs="${1:-600}"
[ $# -gt 0 ] && shift
mkdir -p corpus/load
for d in ../fixtures/images/valid ../fixtures/images/invalid ../fixtures/images/fuzz; do
    [ -d "$d" ] && cp -n "$d"/*.rsimg corpus/load/ 2>/dev/null || true
done
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
