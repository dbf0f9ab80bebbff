#!/bin/sh
# The benchmark (tests/bench/README.md): `make bench` runs `tests/bench/run.sh BUILDDIR`.
# As root on Debian it installs what it needs first (like tests/run-suite.sh). Extra
# arguments (or $PORTICO_BENCH_ARGS) go to bench.py: --quick, --rounds N, --duration S,
# --proxies a,b --cells "small c=16,1M c=16", --no-strace, --out DIR.
# Never part of `make check` or CI: it takes ~12 minutes and its numbers depend on the machine.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-}
[ -n "$build" ] || { echo "usage: $0 BUILDDIR [bench.py options]"; exit 2; }
shift
build=$(cd "$build" && pwd) || exit 2
[ -x "$build/src/portico" ] || { echo "bench: $build/src/portico not built (run make first)"; exit 2; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${PORTICO_NO_APT:-}" ]; then
    missing=""
    for pair in nginx:nginx-light haproxy:haproxy wrk:wrk apache2:apache2 strace:strace \
        python3:python3; do
        command -v "${pair%%:*}" >/dev/null 2>&1 || missing="$missing ${pair#*:}"
    done
    if [ -n "$missing" ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        # Debian's policy-rc.d may or may not start the packaged services; the benchmark
        # runs its own copies on free ports either way.
        apt-get install -y -qq $missing >/dev/null || { echo "bench: apt-get install$missing failed"; exit 1; }
    fi
fi

# shellcheck disable=SC2086 # PORTICO_BENCH_ARGS is a word list on purpose
exec python3 "$here/bench.py" --build "$build" ${PORTICO_BENCH_ARGS:-} "$@"
