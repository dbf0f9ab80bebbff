#!/bin/sh
# Prints one "N passed, M failed" line over every TAP test point of the given build
# directories (automake writes one :test-result: line per point into each .trs file).
# Extra failures (lint steps of run-suite.sh) are passed in FAILED_EXTRA / PASSED_EXTRA.
passed=${PASSED_EXTRA:-0}
failed=${FAILED_EXTRA:-0}
skipped=0
for dir in "$@"; do
    for trs in $(find "$dir" -name '*.trs' 2>/dev/null); do
        p=$(grep -c '^:test-result: PASS' "$trs")
        f=$(grep -Ec '^:test-result: (FAIL|XPASS|ERROR)' "$trs")
        s=$(grep -Ec '^:test-result: (SKIP|XFAIL)' "$trs")
        passed=$((passed + p))
        failed=$((failed + f))
        skipped=$((skipped + s))
    done
done
[ "$skipped" -gt 0 ] && echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
