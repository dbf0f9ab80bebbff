#!/bin/sh
# STUB (being written): the benchmark.
echo "bench: not written yet"
