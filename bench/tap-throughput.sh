#!/usr/bin/env bash
#
# tap's throughput decoding row changes, against pg_recvlogical --plugin=pgoutput reading the same
# publication from the same WAL. Appends a section to docs/benchmarks.md; raw figures in bench/results/.
#
#   bench/tap-throughput.sh [CHANGES] [ROUNDS]     (default 1000000 changes, 3 rounds)
#
# Setup: a lab PostgreSQL of its own (temporary directory, free port), a table bench_rows (5 columns, REPLICA
# IDENTITY FULL) in publication bench_pub, and 3 x ROUNDS logical pgoutput slots, all created BEFORE the
# changes, so each reader has the same WAL to decode. Then CHANGES rows are inserted (INSERT … SELECT
# generate_series, transactions of 100,000 rows) and the end LSN noted. Each round then times, one after the
# other, each reader on its own slot:
#   (a) tap --slot S --max CHANGES --json >/dev/null  (every change decoded into values and written as a JSON line)
#   (b) tap --slot S --max CHANGES --quiet            (every message decoded into values; only the summary printed)
#   (c) pg_recvlogical --slot S --plugin=pgoutput -o proto_version=1 -o publication_names=bench_pub --start
#       --endpos LSN -f /dev/null                     (the raw messages written to a file, nothing decoded)
# tap runs as java -cp (target/classes and its //DEPS jars; no JBang launcher in the timing) and reads an existing
# slot with --slot: a temporary slot could not be made before the changes by another connection. Times are wall
# clock, JVM start included; tap's own decode_ms (first change to last) is reported too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
changes=${1:-1000000}
rounds=${2:-3}
results=$root/bench/results
mkdir -p "$results" target/bench
recv=$(command -v pg_recvlogical || echo /usr/lib/postgresql/15/bin/pg_recvlogical)
[ -x "$recv" ] || { echo "error: pg_recvlogical not found (Debian: apt-get install postgresql-client)" >&2; exit 2; }
command -v psql >/dev/null || { echo "error: psql not found" >&2; exit 2; }

# not -o: on a fresh machine Maven has not fetched the dependency plugin yet (NEONMZ_OFFLINE=1 asks for -o)
mvn -q ${NEONMZ_OFFLINE:+-o} -DskipTests compile dependency:build-classpath \
    -Dmdep.outputFile=target/bench/classpath.txt -Dmdep.includeScope=runtime >&2
deps=$(cat target/bench/classpath.txt)
script_cp="$root/target/classes"
IFS=: read -ra jars <<<"$deps"
for j in "${jars[@]}"; do
  case "$j" in
    */info/picocli/*|*/org/postgresql/postgresql/*|*/org/checkerframework/*) script_cp="$script_cp:$j" ;;
  esac
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/neonmz-bench-tap.XXXXXX")
chmod 755 "$scratch"
export NEONMZ_LAB_DIR=$scratch/lab NO_COLOR=1
export NEONMZ_LAB_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
unset DATABASE_URL PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD
lab() { java -cp "$root/target/classes:$deps" Lab "$@"; }
cleanup() { lab stop >/dev/null 2>&1 || true; rm -rf "$scratch"; }
trap cleanup EXIT
lab start --detach >/dev/null
eval "$(lab env)"
export DATABASE_URL PGPASSFILE
sql() { psql "$DATABASE_URL" -XqAt -v ON_ERROR_STOP=1 -c "$1"; }

sql "CREATE TABLE bench_rows (id bigint PRIMARY KEY, name text NOT NULL, qty int NOT NULL, price numeric(10,2), at timestamptz NOT NULL)"
sql "ALTER TABLE bench_rows REPLICA IDENTITY FULL"
sql "CREATE PUBLICATION bench_pub FOR TABLE bench_rows"
for i in $(seq "$rounds"); do
  for k in json quiet recv; do
    sql "SELECT pg_create_logical_replication_slot('bench_${k}_$i', 'pgoutput')" >/dev/null
  done
done
now_ns() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f\n", (b - a) / 1e6}'; }
a=$(now_ns)
step=100000
for ((lo = 1; lo <= changes; lo += step)); do
  hi=$((lo + step - 1)); [ "$hi" -gt "$changes" ] && hi=$changes
  sql "INSERT INTO bench_rows SELECT g, 'row ' || g, g % 100, g * 0.01, '2026-03-01 00:00+00'::timestamptz + g * interval '1 second' FROM generate_series($lo, $hi) g"
done
b=$(now_ns); setup_ms=$(ms "$a" "$b")
endpos=$(sql "SELECT pg_current_wal_lsn()")
echo "setup: $changes rows inserted in $setup_ms ms; end LSN $endpos" >&2

tap() { java -cp "$script_cp" Tap --publication bench_pub --max "$changes" "$@"; }
: > "$results/tap-throughput.txt"
for i in $(seq "$rounds"); do
  a=$(now_ns); tap --slot "bench_json_$i" --json > "$scratch/json.out"; b=$(now_ns); t_json=$(ms "$a" "$b")
  tail -1 "$scratch/json.out" | grep -q '"changes":'"$changes"',' || { tail -1 "$scratch/json.out" >&2; exit 1; }
  rm -f "$scratch/json.out"   # (kept only to check the count; >/dev/null costs the same)
  a=$(now_ns); tap --slot "bench_quiet_$i" --quiet --json > "$scratch/quiet.out"; b=$(now_ns); t_quiet=$(ms "$a" "$b")
  decode=$(sed -n 's/.*"decode_ms":\([0-9]*\).*/\1/p' "$scratch/quiet.out")
  grep -q '"changes":'"$changes"',' "$scratch/quiet.out" || { cat "$scratch/quiet.out" >&2; exit 1; }
  a=$(now_ns)
  "$recv" -d "$DATABASE_URL" --slot "bench_recv_$i" --plugin=pgoutput -o proto_version=1 -o publication_names=bench_pub \
    --start --endpos "$endpos" --no-loop -f /dev/null
  b=$(now_ns); t_recv=$(ms "$a" "$b")
  echo "round $i: tap --json ${t_json} ms, tap --quiet ${t_quiet} ms (decode ${decode} ms), pg_recvlogical ${t_recv} ms" >&2
  echo "$t_json $t_quiet $t_recv $decode" >> "$results/tap-throughput.txt"
done
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
m_json=$(awk '{print $1}' "$results/tap-throughput.txt" | median)
m_quiet=$(awk '{print $2}' "$results/tap-throughput.txt" | median)
m_recv=$(awk '{print $3}' "$results/tap-throughput.txt" | median)
m_dec=$(awk '{print $4}' "$results/tap-throughput.txt" | median)
rate() { awk -v n="$changes" -v t="$1" 'BEGIN {printf "%.0f", n / (t / 1000)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}'; }
r_json=$(rate "$m_json"); r_quiet=$(rate "$m_quiet"); r_recv=$(rate "$m_recv")
echo "tap --json: $r_json changes/s ($(ratio "$m_json" "$m_recv")x); --quiet: $r_quiet/s ($(ratio "$m_quiet" "$m_recv")x); pg_recvlogical: $r_recv/s" >&2

runs() { awk -v c="$1" '{printf "%s%s", sep, $c; sep=" "}' "$results/tap-throughput.txt"; }
{
  echo
  echo "## tap: decoding $(printf "%'d" "$changes") row changes"
  echo
  echo "Changes per second reading one publication's WAL (\`INSERT\`s of a 5-column table with REPLICA IDENTITY FULL,"
  echo "transactions of 100,000 rows), each reader on its own pgoutput slot made before the changes. Aim: tap ≥ 0.8× pg_recvlogical."
  echo
  echo "| reader | median wall time | changes/s | vs pg_recvlogical |"
  echo "|---|---:|---:|---:|"
  echo "| \`tap --max N --json >/dev/null\` (every change decoded and written as a JSON line) | $m_json ms | $r_json | $(ratio "$m_json" "$m_recv")× |"
  echo "| \`tap --max N --quiet\` (every message decoded into values; summary only) | $m_quiet ms | $r_quiet | $(ratio "$m_quiet" "$m_recv")× |"
  echo "| \`pg_recvlogical --plugin=pgoutput --endpos LSN -f /dev/null\` (raw messages, nothing decoded) | $m_recv ms | $r_recv | 1.00× |"
  echo
  echo "- Date: $(date -u +%F) (UTC). Commit: $(git rev-parse --short HEAD). Machine: $(uname -sr), $(nproc) cores. Java: $(java -version 2>&1 | head -1)."
  echo "- pg_recvlogical: $("$recv" --version). Server: the lab's PostgreSQL 17 (fsync=off)."
  echo "- Runs (ms): tap --json $(runs 1); tap --quiet $(runs 2); pg_recvlogical $(runs 3). tap's decode_ms (first to last change, --quiet): $(runs 4)."
  echo "- Wall times include each client's start (tap: a JVM, java -cp, no JBang launcher). Setup (inserting the rows): $setup_ms ms."
  echo "- Command: \`bench/tap-throughput.sh $changes $rounds\`."
} >> docs/benchmarks.md
echo "appended to docs/benchmarks.md" >&2
