#!/bin/sh
# The whole test suite, as CI runs it on a fresh Debian machine: install what the build
# and the tests need, build with -Werror, run `make check`, then build again with
# ASan+UBSan and run it once more, plus the style checks. Ends with "N passed, M failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${PORTICO_NO_APT:-}" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq build-essential autoconf automake pkg-config libssl-dev \
        libpcre2-dev libgdbm-dev libcap-dev libsqlite3-dev libpq-dev postgresql python3 curl \
        clang-format apache2 groff-base man-db socat chromium systemd \
        >/dev/null || { echo "apt-get install failed"; exit 1; }
fi

extra_pass=0
extra_fail=0
step() { # name, command...: a lint step counts as one test point
    name=$1
    shift
    if "$@"; then
        echo "ok - $name"
        extra_pass=$((extra_pass + 1))
    else
        echo "not ok - $name"
        extra_fail=$((extra_fail + 1))
    fi
}

style_ok() {
    files=$(git ls-files '*.c' '*.h' 2>/dev/null || find src shm tools tests -name '*.[ch]')
    clang-format --dry-run --Werror $files
}
banned_ok() {
    ! grep -nE '\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|strtok|gets)\(' \
        $(git ls-files '*.c' '*.h' 2>/dev/null || find src shm tools -name '*.[ch]')
}

autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; exit 1; }
jobs=$(nproc 2>/dev/null || echo 2)
rm -rf build-ci build-asan
mkdir -p build-ci build-asan

(cd build-ci && ../configure -q --enable-werror && make -s -j"$jobs") ||
    { echo "build failed"; exit 1; }
(cd build-ci && make -s -j"$jobs" check) || true

if command -v clang-format >/dev/null 2>&1; then
    step "clang-format clean" style_ok
fi
step "no banned functions" banned_ok

(cd build-asan && ../configure -q --enable-werror --enable-asan && make -s -j"$jobs") ||
    { echo "ASan build failed"; exit 1; }
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 make -s -j"$jobs" check) || true

for f in $(find build-ci build-asan -name '*.log' -path '*tests*' 2>/dev/null); do
    if grep -q '^not ok' "$f" 2>/dev/null || grep -q '^ERROR' "$f" 2>/dev/null; then
        echo "---- $f"
        grep -E '^(not ok|#|ERROR)' "$f" | head -40
    fi
done
PASSED_EXTRA=$extra_pass FAILED_EXTRA=$extra_fail sh tests/summary.sh build-ci build-asan
