#!/usr/bin/env bash
# fleet over 1,000 branches against the fake Neon API with latency injected, vs the same checks one branch at a
# time (docs/benchmarks.md, "fleet over 1,000 branches"). See bench/FleetBench.java for what is timed.
#
#   bench/fleet.sh                 # API answers after 150 ms, 10 ms each way to PostgreSQL, yardstick on 100 branches
#   bench/fleet.sh 100 5 50        # API ms, PostgreSQL one-way ms, yardstick sample
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/bench-classes bench/results
mvn -q -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/bench/test-classpath.txt \
    -Dmdep.includeScope=test >&2
# a copy of the classes, so that building again while the benchmark runs cannot change them under it
rm -rf target/bench-run && mkdir -p target/bench-run && cp -r target/test-classes target/classes target/bench-run/
cp="$PWD/target/bench-run/test-classes:$PWD/target/bench-run/classes:$(cat target/bench/test-classpath.txt)"
javac -q -d target/bench-classes -cp "$cp" bench/FleetBench.java 2>/dev/null || javac -d target/bench-classes -cp "$cp" bench/FleetBench.java
exec java -Xmx2g -cp "target/bench-classes:$cp" FleetBench "${1:-150}" "${2:-10}" "${3:-100}" bench/results/fleet-bench.json
