#!/bin/sh
# Seed the corpus from the fixture images and fuzz `load` + the text form; or, with
# FUZZ_TARGET=share, the share-link reader (share::from_bytes / share::decode).
# Usage: [FUZZ_TARGET=share] fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
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
exec cargo +nightly fuzz run load corpus/load -- -dict=load.dict -max_len=65536 \
    -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=256 -timeout=10 "$@"
