#!/bin/bash
# Run each named fuzz target (fuzz/run.sh) until the fuzzer process itself has used LIMIT
# CPU-seconds (default 1830: the 30 CPU-minutes issue 14 asks for), then stop it with SIGINT so
# libFuzzer prints its final stats. At nice 19, so it takes only idle CPU on a shared machine.
# Logs: $LOGDIR/TARGET.log (default fuzz/logs/), and TARGET.cpu with the CPU-seconds so far.
# Usage: fuzz/cpu-limit.sh TARGET...
set -u
cd "$(dirname "$0")"
LIMIT=${LIMIT:-1830}
LOGDIR=${LOGDIR:-logs}
mkdir -p "$LOGDIR"
tick=$(getconf CLK_TCK)
for t in "$@"; do
    log=$LOGDIR/$t.log
    echo "start $t $(date -u +%FT%TZ)" >"$log"
    FUZZ_TARGET=$t nice -n 19 ./run.sh 36000 -print_final_stats=1 >>"$log" 2>&1 &
    runner=$!
    pid=""
    while kill -0 "$runner" 2>/dev/null; do
        sleep 20
        [ -z "$pid" ] && pid=$(pgrep -f "release/$t " | head -1)
        [ -z "$pid" ] && continue
        # utime + stime, in clock ticks: fields 14 and 15 of /proc/PID/stat.
        ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || continue
        [ -z "$ticks" ] && continue
        secs=$((ticks / tick))
        echo "$secs" >"$LOGDIR/$t.cpu"
        [ "$secs" -ge "$LIMIT" ] && kill -INT "$pid"
    done
    wait "$runner"
    echo "rc $? end $(date -u +%FT%TZ) cpu $(cat "$LOGDIR/$t.cpu" 2>/dev/null)" >>"$log"
done
