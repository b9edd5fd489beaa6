#!/usr/bin/env bash
# doctor on 10,000 published tables (docs/benchmarks.md, "doctor on 10,000 tables").
#
#   bench/doctor-10k.sh            # 10,000 tables, 5 runs of each
#   bench/doctor-10k.sh 2000 3     # tables, runs
#
# Starts its own PostgreSQL (Debian's, /usr/lib/postgresql/<v>/bin; PG_BIN overrides) in a temporary
# directory on a free port, with wal_level=logical; makes the tables, the publication, the role and the
# grants with psql; then times, in the same run:
#   ours:  doctor --json as one JVM (java -cp target/classes + its //DEPS jars), whole process, JVM start included;
#   (y1):  the same per-table facts asked one query per table (psql -f, one round trip per table),
#          the way a per-table doctor would ask them;
#   (y2):  psql -c of doctor's own per-table query (the set-based catalog query alone, no JVM).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
RUNS=${2:-5}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
command -v psql >/dev/null || { echo "error: psql not found" >&2; exit 2; }

mvn -q -DskipTests compile dependency:build-classpath -Dmdep.outputFile=target/bench/classpath.txt \
    -Dmdep.includeScope=runtime >&2
cp="$PWD/target/classes"
IFS=: read -ra jars <<<"$(cat target/bench/classpath.txt)"
for j in "${jars[@]}"; do
    case "$j" in */info/picocli/*|*/org/postgresql/postgresql/*|*/org/checkerframework/*) cp="$cp:$j" ;; esac
done

dir=$(mktemp -d /var/tmp/neonmz-doctor-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_pg() { if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; su postgres -c "$*"; else eval "$*"; fi; }
cleanup() { run_pg "$PG_BIN/pg_ctl -D $dir/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
run_pg "$PG_BIN/initdb -D $dir/data -U postgres -A trust" >/dev/null
run_pg "$PG_BIN/pg_ctl -D $dir/data -l $dir/log -w -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c wal_level=logical -c fsync=off -c synchronous_commit=off -c max_locks_per_transaction=256' start" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
echo "setup: $N tables on $("$PG_BIN/postgres" --version)" >&2
psql -qX -v ON_ERROR_STOP=1 <<SQL >/dev/null
CREATE ROLE materialize LOGIN REPLICATION;
DO \$\$ BEGIN
  FOR i IN 1..$N LOOP
    EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v text, at timestamptz)', 't' || lpad(i::text, 5, '0'));
    EXECUTE format('ALTER TABLE %I REPLICA IDENTITY FULL', 't' || lpad(i::text, 5, '0'));
  END LOOP;
END \$\$;
CREATE PUBLICATION mz_source FOR ALL TABLES;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO materialize;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO materialize;
SQL

# (y1) the per-table yardstick: the same facts, one query per table
psql -qAtX -c "SELECT format('SELECT c.relreplident, c.relkind, c.relrowsecurity, has_table_privilege(''materialize'', c.oid, ''SELECT''), has_schema_privilege(''materialize'', c.relnamespace, ''USAGE''), (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) FROM pg_class c WHERE c.oid = %L::regclass;', tablename) FROM pg_publication_tables WHERE pubname = 'mz_source'" > "$dir/per-table.sql"
# (y2) doctor's own set-based per-table query
tables_sql=$(DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable" java -cp "$cp" Doctor --dry-run \
    | awk '/^WITH role AS/{p=1} p{print} p&&/;$/{exit}')

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ms() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000000 )); }
export DATABASE_URL="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable"
java -cp "$cp" Doctor --json > "$dir/doctor.json" || true   # warm the page cache once
ours=(); y1=(); y2=()
for r in $(seq "$RUNS"); do
    ours+=("$(ms sh -c "java -cp '$cp' Doctor --json >/dev/null || true")")
    y1+=("$(ms psql -qAtX -f "$dir/per-table.sql")")
    y2+=("$(ms psql -qAtX -c "$tables_sql")")
done
q=$(python3 -c "import json; d=json.load(open('$dir/doctor.json')); print(d['queries'], d['counts'])")
echo "tables=$N runs=$RUNS"
echo "doctor (JVM included): median $(printf '%s\n' "${ours[@]}" | median) ms  [${ours[*]}]"
echo "(y1) per-table queries, psql -f: median $(printf '%s\n' "${y1[@]}" | median) ms  [${y1[*]}]"
echo "(y2) doctor's table query, psql -c: median $(printf '%s\n' "${y2[@]}" | median) ms  [${y2[*]}]"
echo "doctor queries, counts: $q"
echo "load: $(cat /proc/loadavg)"
