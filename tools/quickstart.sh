#!/bin/sh
# From a fresh Debian machine to a running portico: install the build dependencies, build,
# start the demo backends, and run portico in the foreground on conf/portico.conf.
# Ctrl-C stops portico; the demo backends are stopped by PID on the way out.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq build-essential autoconf automake pkg-config libssl-dev \
        libpcre2-dev libgdbm-dev libcap-dev libsqlite3-dev libpq-dev python3 curl >/dev/null
fi
autoreconf -fi >/dev/null 2>&1
mkdir -p build
(cd build && ../configure -q && make -s -j"$(nproc)")

var=/tmp/portico
mkdir -p "$var/htdocs"
[ -f "$var/htdocs/index.html" ] ||
    printf '<!DOCTYPE html>\n<title>portico</title>\n<p>portico is running.</p>\n' \
        >"$var/htdocs/index.html"
chmod -R a+rX "$var"

python3 tools/demo-backend.py 8000 8001 &
backend=$!
trap 'kill "$backend" 2>/dev/null' EXIT INT TERM
echo "portico on http://127.0.0.1:8080/ (logs in $var); demo backends on :8000 and :8001"
build/src/portico -d "$top" -f conf/portico.conf -DFOREGROUND
