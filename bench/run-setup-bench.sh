#!/usr/bin/env bash
# The Neon-side setup benchmark (docs/benchmarks.md, "Neon-side setup on 10,000 tables").
#
#   bench/run-setup-bench.sh --wait-idle          # 10,000 tables, 5 repetitions (about 3 minutes)
#   bench/run-setup-bench.sh --tables 2000 --reps 1 --a-sample 50   # a quick look
#
# Builds the project (compile + the dependency classpath), compiles bench/SetupBench.java against
# target/classes (it is not part of the Maven build), and runs it. It starts its own PostgreSQL (the
# lab's embedded binaries) in a temporary directory on a free port and deletes it at the end (--keep
# keeps it). The scripts run as ./jbang <alias> when an executable ./jbang exists, else as
# java -cp <target/classes + their //DEPS jars> <Main>, one JVM per step either way.
# Results: JSON on stdout and in bench/results/setup-bench.json (git-ignored); progress on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v psql >/dev/null || { echo "error: psql not found (the yardsticks run psql)" >&2; exit 2; }

mvn -q -DskipTests compile dependency:build-classpath \
    -Dmdep.outputFile=target/bench/classpath.txt -Dmdep.includeScope=runtime >&2
deps="$(cat target/bench/classpath.txt)"

# The scripts' own classpath: what their //DEPS name (picocli, pgjdbc and its one dependency), as JBang
# would resolve it; not the lab's PostgreSQL binaries.
script_cp="$PWD/target/classes"
IFS=: read -ra jars <<<"$deps"
for j in "${jars[@]}"; do
    case "$j" in
        */info/picocli/*|*/org/postgresql/postgresql/*|*/org/checkerframework/*) script_cp="$script_cp:$j" ;;
    esac
done

mkdir -p target/bench/classes
javac -d target/bench/classes -cp "target/classes:$deps" bench/SetupBench.java

exec java -cp "target/bench/classes:target/classes:$deps" SetupBench \
    --script-cp "$script_cp" --result bench/results/setup-bench.json "$@"
