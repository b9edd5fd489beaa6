#!/usr/bin/env bash
# evolve --migration against psql -f of the same migration in a rolled-back transaction, on 1,000 published
# tables (docs/benchmarks.md, "evolve --migration vs psql -f, 1,000 published tables"). Aim: ≤ 2×, JVM start
# included.
#
#   bench/evolve-1000.sh            # 1,000 tables, 5 rounds; writes the section of docs/benchmarks.md
#   bench/evolve-1000.sh 50 1       # tables, rounds: a quick look (the doc is written only for 1,000 tables)
#
# Starts its own PostgreSQL (Debian's, /usr/lib/postgresql/<v>/bin; PG_BIN overrides) in a temporary directory
# on a free port (wal_level=logical, fsync=off, the other settings left at their defaults). Makes two databases
# the same way: `bench` with TABLES tables and `small` with 10. Their tables come in four shapes (a bigint primary
# key with a varchar(40); a unique varchar(12) key; a two-column primary key with an enum column; no key at all),
# every tenth one in schema sales, the first four named "Order Items", we"ird, MixedCase and Überweisung; 10 rows
# each; REPLICA IDENTITY FULL (as ./jbang replica-identity sets it); all listed in publication mz_source (as
# ./jbang publication makes it). The migration is written from the same numbering (see migration() below).
# Then, in rounds (each runs every command once, the order rotated per round), all through the repo's launcher,
# warm (its fast path), JVM start included:
#   evolve:    ./jbang evolve --migration FILE on `bench`;
#   psql:      psql -X -q -v ON_ERROR_STOP=1 -f of BEGIN; <the same file>; ROLLBACK; on `bench` (the yardstick);
#   small:     ./jbang evolve on `small` (10 tables, its migration): what evolve costs whatever the tables;
#   version:   ./jbang evolve --version: the launcher and the JVM alone (no connection);
#   jvmopts:   evolve on `bench` with JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC" (a side figure:
#              JVM options are the launcher's decision; EVOLVE_BENCH_JVM_OPTS overrides them).
# And, once each, with log_statement=all for that session (PGOPTIONS): the statements evolve sends on `small`
# and on `bench`, counted in the server's log (lines of application neonmz), and psql's on `bench`; and one run
# with log_min_duration_statement=0: the server's time for evolve's statements, by what they are for.
# EVOLVE_BENCH_KEEP=1 only sets up, and leaves the server running. EVOLVE_BENCH_WAIT_IDLE=1 waits before each round
# until the CPUs are ≥ 90 % idle (at most 2 minutes): on a shared machine other work shows up at once.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
N=${1:-1000}
RUNS=${2:-5}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
command -v psql >/dev/null || { echo "error: psql not found" >&2; exit 2; }
[ -x ./jbang ] || { echo "error: ./jbang not found" >&2; exit 2; }

dir=$(mktemp -d /var/tmp/neonmz-evolve-bench.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
run_pg() { if [ "$(id -u)" = 0 ]; then chown -R postgres "$dir"; su postgres -c "$*"; else eval "$*"; fi; }
cleanup() { run_pg "$PG_BIN/pg_ctl -D $dir/data -m immediate stop" >/dev/null 2>&1 || true; rm -rf "$dir"; }
# EVOLVE_BENCH_KEEP=1: set up, print how to reach the server, and leave it running (stop: pg_ctl -D DIR/data stop)
[ -n "${EVOLVE_BENCH_KEEP:-}" ] || trap cleanup EXIT
run_pg "$PG_BIN/initdb -D $dir/data -U postgres -A trust" >/dev/null
# log_line_prefix names the application, so that evolve's statements (application_name neonmz) can be counted
run_pg "$PG_BIN/pg_ctl -D $dir/data -l $dir/log -w -o \"-p $port -k $dir -c listen_addresses=127.0.0.1 -c wal_level=logical -c fsync=off -c synchronous_commit=off -c log_line_prefix='[%a] '\" start" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres NO_COLOR=1
export NEONMZ_JBANG_FORCE_BUNDLED=1
unset NEONMZ_NO_FASTPATH NEONMZ_LAUNCHER_TRACE PGOPTIONS

# The table numbered i: its schema, its name, its shape (i % 4).
SCHEMA="CASE WHEN i % 10 = 0 THEN 'sales' ELSE 'public' END"
NAME="CASE i WHEN 1 THEN 'Order Items' WHEN 2 THEN 'we\"ird' WHEN 3 THEN 'MixedCase' WHEN 4 THEN 'Überweisung'
      ELSE 't' || lpad(i::text, 4, '0') END"

setup() { # DATABASE TABLES
    psql -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $1" >/dev/null
    psql -qX -v ON_ERROR_STOP=1 -d "$1" <<SQL >/dev/null
CREATE SCHEMA sales;
CREATE TYPE mood AS ENUM ('ok', 'meh', 'bad');
DO \$\$ DECLARE t text; BEGIN
  FOR i IN 1..$2 LOOP
    t := format('%I.%I', $SCHEMA, $NAME);
    EXECUTE format(CASE i % 4
      WHEN 0 THEN 'CREATE TABLE %s (id bigint PRIMARY KEY, name varchar(40), qty int NOT NULL DEFAULT 0,
                                    at timestamptz NOT NULL DEFAULT now())'
      WHEN 1 THEN 'CREATE TABLE %s (id int NOT NULL, code varchar(12) NOT NULL UNIQUE, v text, price numeric(10,2))'
      WHEN 2 THEN 'CREATE TABLE %s (a int, b int, note text, m mood, PRIMARY KEY (a, b))'
      ELSE 'CREATE TABLE %s (v text, n numeric, payload jsonb, qty int NOT NULL DEFAULT 0)' END, t);
    EXECUTE format(CASE i % 4
      WHEN 0 THEN 'INSERT INTO %s (id, name, qty) SELECT g, ''n'' || g, g FROM generate_series(1, 10) g'
      WHEN 1 THEN 'INSERT INTO %s SELECT g, ''c'' || g, ''v'', g * 1.5 FROM generate_series(1, 10) g'
      WHEN 2 THEN 'INSERT INTO %s SELECT g, g, ''x'', ''ok'' FROM generate_series(1, 10) g'
      ELSE 'INSERT INTO %s SELECT ''v'' || g, g, ''{"k": 1}'', g FROM generate_series(1, 10) g' END, t);
    EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', t);
  END LOOP;
END \$\$;
SELECT format('CREATE PUBLICATION mz_source FOR TABLE %s',
              string_agg(format('%I.%I', $SCHEMA, $NAME), ', ' ORDER BY i))
FROM generate_series(1, $2) i \gexec
VACUUM ANALYZE;
SQL
}

# The migration, one statement a line, for the tables numbered 1..N (a release touching many tables):
#   ADD COLUMN created_by text DEFAULT 'migration' on every fifth table                 (safe)
#   CREATE INDEX on the v column of every other table of shape 1                        (changes no shape)
#   varchar(40) → varchar(80) on every fortieth table (shape 0: a typmod change)        (breaks)
#   DROP NOT NULL on qty of two tables in a hundred (shape 3)                           (breaks)
#   and, on the odd names: "Order Items".id int → bigint (breaks), we"ird gets a column "Größe" (safe).
migration() { # DATABASE TABLES
    psql -qAtX -v ON_ERROR_STOP=1 -d "$1" <<SQL
SELECT s FROM (
  SELECT i, 1 AS k, format('ALTER TABLE %I.%I ADD COLUMN created_by text DEFAULT ''migration'';', $SCHEMA, $NAME) AS s
  FROM generate_series(1, $2) i WHERE i % 5 = 0
  UNION ALL SELECT i, 2, format('CREATE INDEX ON %I.%I (v);', $SCHEMA, $NAME)
  FROM generate_series(1, $2) i WHERE i % 8 = 5
  UNION ALL SELECT i, 3, format('ALTER TABLE %I.%I ALTER COLUMN name TYPE varchar(80);', $SCHEMA, $NAME)
  FROM generate_series(1, $2) i WHERE i % 40 = 0
  UNION ALL SELECT i, 4, format('ALTER TABLE %I.%I ALTER COLUMN qty DROP NOT NULL;', $SCHEMA, $NAME)
  FROM generate_series(1, $2) i WHERE i % 100 IN (3, 51)
  UNION ALL SELECT 1, 5, 'ALTER TABLE public."Order Items" ALTER COLUMN id TYPE bigint;'
  UNION ALL SELECT 2, 5, 'ALTER TABLE public."we""ird" ADD COLUMN "Größe" numeric(6,1);'
) m ORDER BY i, k
SQL
}

echo "setup: $N tables (and 10) on $("$PG_BIN/postgres" --version)" >&2
setup bench "$N"
setup small 10
migration bench "$N" > "$dir/migration.sql"
migration small 10 > "$dir/migration-small.sql"
{ echo "BEGIN;"; cat "$dir/migration.sql"; echo "ROLLBACK;"; } > "$dir/yardstick.sql"
stmts=$(wc -l < "$dir/migration.sql")
url="postgresql://postgres@127.0.0.1:$port"
if [ -n "${EVOLVE_BENCH_KEEP:-}" ]; then
    echo "kept: $dir (migration.sql, yardstick.sql, log); DATABASE_URL=$url/bench?sslmode=disable" >&2
    exit 0
fi

evolve() { # DATABASE FILE [args]: exit 0 (all safe) or 9 (a break) is a finished check
    local db=$1 file=$2 rc=0
    shift 2
    DATABASE_URL="$url/$db?sslmode=disable" ./jbang evolve --migration "$file" "$@" </dev/null || rc=$?
    [ $rc = 0 ] || [ $rc = 9 ] || { echo "evolve exited $rc" >&2; return 1; }
}
yardstick() { psql -X -q -v ON_ERROR_STOP=1 -d bench -f "$dir/yardstick.sql" >/dev/null; }
# JVM options the launcher could pass (C1 only, serial GC: common for short-lived CLI JVMs); a side figure
JVM_OPTS=${EVOLVE_BENCH_JVM_OPTS:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}

# The timed commands: evolve and psql on the TABLES, and what evolve costs whatever the tables.
declare -A cmd=(
    [evolve]="evolve bench $dir/migration.sql"
    [psql]="yardstick"
    [small]="evolve small $dir/migration-small.sql"
    [version]="./jbang evolve --version"
    [jvmopts]="JAVA_TOOL_OPTIONS='$JVM_OPTS' evolve bench $dir/migration.sql"
)
names=(evolve psql small version jvmopts)

# warm: jbang-cli fetched, Evolve compiled, the fast path's entry written; and the check's own verdicts
evolve bench "$dir/migration.sql" --json > "$dir/evolve.json" 2>"$dir/evolve.err" || { cat "$dir/evolve.err" >&2; exit 1; }
for n in "${names[@]}"; do eval "${cmd[$n]}" >/dev/null 2>"$dir/warm.err" </dev/null || { cat "$dir/warm.err" >&2; exit 1; }; done
fastpath=$(NEONMZ_LAUNCHER_TRACE=1 ./jbang evolve --version 2>&1 >/dev/null </dev/null | grep -o 'fastpath [a-z]*' | head -1 || true)
fastpath=${fastpath:-"fastpath: not reported"}
verdicts=$(python3 -c "import json, collections; d = json.load(open('$dir/evolve.json'))
print(len(d['tables']), 'tables changed:', ', '.join(f'{n} {v}' for v, n in sorted(collections.Counter(t['verdict'] for t in d['tables']).items())))")
echo "migration: $stmts statements; evolve: $verdicts; launcher: $fastpath" >&2

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
declare -A runs med
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# rounds: each times every command once, in an order rotated per round, so that a change of the machine's
# load weighs on all alike
# EVOLVE_BENCH_WAIT_IDLE=1: before each round, wait (at most 2 minutes) until the CPUs were ≥ 90 % idle for a second
idle_pct() { # the CPUs' idle share over one second, in %
    local a b
    read -ra a < <(head -1 /proc/stat); sleep 1; read -ra b < <(head -1 /proc/stat)
    awk -v i="$(( b[4] + b[5] - a[4] - a[5] ))" -v t="$(( b[1]+b[2]+b[3]+b[4]+b[5]+b[6]+b[7]+b[8] - a[1]-a[2]-a[3]-a[4]-a[5]-a[6]-a[7]-a[8] ))" \
        'BEGIN {printf "%.0f", t ? 100 * i / t : 100}'
}
idle_seen=()
for ((r = 0; r < RUNS; r++)); do
    if [ -n "${EVOLVE_BENCH_WAIT_IDLE:-}" ]; then
        for ((w = 0; w < 120; w++)); do p=$(idle_pct); [ "$p" -ge 90 ] && break; done
        idle_seen+=("$p")
    fi
    k=$((r % ${#names[@]}))
    for n in "${names[@]:k}" "${names[@]:0:k}"; do
        t0=$(now)
        eval "${cmd[$n]}" >/dev/null 2>&1 </dev/null
        t1=$(now)
        runs[$n]="${runs[$n]:-}$(( (t1 - t0) / 1000000 )) "
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
ratio_to() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
for n in "${names[@]}"; do
    runs[$n]=${runs[$n]% }
    med[$n]=$(tr ' ' '\n' <<<"${runs[$n]}" | median)
done
ratio=$(ratio_to "${med[evolve]}" "${med[psql]}")
verdict=$(awk -v r="$ratio" 'BEGIN {print (r <= 2.0) ? "pass" : "fail"}')

# statements sent, from the server's log (one session each, log_statement=all through PGOPTIONS)
count() { # DATABASE FILE APPLICATION: runs it, prints the number of statements logged for that application
    local before after
    before=$(wc -l < "$dir/log")
    if [ "$3" = neonmz ]; then PGOPTIONS="-c log_statement=all" evolve "$1" "$2" >/dev/null
    else PGOPTIONS="-c log_statement=all" psql -X -q -v ON_ERROR_STOP=1 -d "$1" -f "$2" >/dev/null; fi
    sleep 0.2
    after=$(wc -l < "$dir/log")
    sed -n "$((before + 1)),${after}p" "$dir/log" | grep -cE "^\[$3\] LOG:  (statement|execute [^:]*):" || true
}
q_small=$(count small "$dir/migration-small.sql" neonmz)
q_big=$(count bench "$dir/migration.sql" neonmz)
q_psql=$(count bench "$dir/yardstick.sql" psql)
# where evolve's time goes on the server: one more run with log_min_duration_statement=0 (parse, bind and
# execute of each statement), summed by what the statement is for
before=$(wc -l < "$dir/log")
PGOPTIONS="-c log_min_duration_statement=0" evolve bench "$dir/migration.sql" >/dev/null
sleep 0.2
tail -n +"$((before + 1))" "$dir/log" | awk '
    /^\[neonmz\] LOG:  duration: / {
        ms = $4; sub(/^\[neonmz\] LOG:  duration: [0-9.]+ ms  (parse|bind|execute) [^:]*: /, "")
        if ($0 == "") { getline; sub(/^[ \t]+/, "") }
        what = /^DO \$evolve\$/ ? "migration" \
             : /^(CREATE TEMP TABLE evolve_truncated|CREATE FUNCTION pg_temp|DO \$d\$|SAVEPOINT|SELECT DISTINCT relid)/ ? "watch" \
             : /^(WITH published|SELECT a\.attrelid|SELECT k\.conrelid)/ ? "snapshots" \
             : /^SELECT n\.nspname AS schema_name/ ? "textcols" : "other"
        t[what] += ms; total += ms }
    END { printf "server_total=%.0f server_migration=%.0f server_watch=%.0f server_snapshots=%.0f server_textcols=%.0f server_other=%.0f\n",
                 total, t["migration"], t["watch"], t["snapshots"], t["textcols"], t["other"] }' > "$dir/server.txt"
eval "$(cat "$dir/server.txt")"
# what evolve sent, in order (the first line of each), for the record
awk -v n="$q_big" '/^\[neonmz\] LOG:  (statement|execute [^:]*): / {
        sub(/^\[neonmz\] LOG:  (statement|execute [^:]*): /, ""); if ($0 == "") { getline; sub(/^[ \t]+/, "") }
        s[++c] = substr($0, 1, 70) }
    END { for (i = c - n + 1; i <= c; i++) print s[i] }' "$dir/log" > "$dir/statements.txt"

echo "tables=$N rounds=$RUNS migration=$stmts statements"
echo "evolve (./jbang, JVM included):      median ${med[evolve]} ms  [${runs[evolve]}]"
echo "psql -f, BEGIN … ROLLBACK:           median ${med[psql]} ms  [${runs[psql]}]"
echo "evolve on 10 tables:                 median ${med[small]} ms  [${runs[small]}]"
echo "./jbang evolve --version:            median ${med[version]} ms  [${runs[version]}]"
echo "evolve, JAVA_TOOL_OPTIONS=$JVM_OPTS: median ${med[jvmopts]} ms  [${runs[jvmopts]}]"
echo "ratio $ratio (goal ≤ 2: $verdict); 10 tables: $(ratio_to "${med[small]}" "${med[psql]}"); --version: $(ratio_to "${med[version]}" "${med[psql]}"); JVM options: $(ratio_to "${med[jvmopts]}" "${med[psql]}")"
echo "evolve's statements on the server (ms, one run): $(cat "$dir/server.txt")"
echo "statements sent: evolve $q_small (10 tables), $q_big ($N tables); psql -f $q_psql ($N tables)"
echo "evolve's verdicts: $verdicts; launcher: $fastpath"
echo "load before: $load_before; after: $load_after${idle_seen:+; idle before each round (%): ${idle_seen[*]}}"
echo "evolve's statements ($N tables):"; sed 's/^/  /' "$dir/statements.txt"

[ "$N" = 1000 ] || exit 0
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain -- jbang scripts lib 2>/dev/null)" ] || commit="$commit + local changes"
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo unknown)
fixed=$(ratio_to "${med[small]}" "${med[psql]}")
n=$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$N")   # 1,000
command_line="bench/evolve-1000.sh 1000 $RUNS"
[ -z "${EVOLVE_BENCH_WAIT_IDLE:-}" ] || command_line="EVOLVE_BENCH_WAIT_IDLE=1 $command_line"
# said only when it holds: evolve's fixed cost alone (10 tables) is over the goal
if awk -v f="$fixed" 'BEGIN {exit !(f > 2.0)}'; then
    fixed_note="**The goal cannot be met with a JVM for a migration of this size.** evolve on 10 tables, where it has
almost nothing to read, already takes ${med[small]} ms, ${fixed}× psql's whole run on $n tables; the launcher and
the JVM alone take ${med[version]} ms. psql starts in a few ms and spends its time on the migration; evolve pays that
fixed cost first. The ratio comes down as migrations take longer on the server, and JVM options (the side figure)
take off part of the fixed cost."
else
    fixed_note="evolve's fixed cost (10 tables: ${med[small]} ms) is within the goal here: ${fixed}× psql's run."
fi
client=$(awk -v w="${med[evolve]}" -v v="${med[version]}" -v s="$server_total" 'BEGIN {printf "%.0f", w - v - s}')
section=$(cat <<EOF
## evolve --migration vs psql -f, 1,000 published tables

**Question.** How long does \`./jbang evolve --migration FILE\` take on a publication of 1,000 tables, JVM start
included, against \`psql -f\` running the same migration in a transaction that is rolled back? Aim: ≤ 2×. And does
evolve read each catalog snapshot in a fixed number of queries, however many tables are published?

**Result: $verdict, ${ratio}×** (evolve **${med[evolve]} ms**, psql -f **${med[psql]} ms**, medians of $RUNS). The
queries are fixed: evolve sends **$q_small statements with 10 tables and $q_big with $n** (psql -f: $q_psql, one per
line of the migration and its BEGIN and ROLLBACK).

| run (warm; the launcher: $fastpath) | median | ratio to psql -f |
|---|---:|---:|
| \`./jbang evolve --migration migration.sql\`, $n tables | ${med[evolve]} ms | **${ratio}×** |
| \`psql -X -q -v ON_ERROR_STOP=1 -f\` of \`BEGIN;\`, the same file, \`ROLLBACK;\` | ${med[psql]} ms | 1.00× |
| \`./jbang evolve\` on 10 tables (its migration: $(wc -l < "$dir/migration-small.sql") statements) | ${med[small]} ms | ${fixed}× |
| \`./jbang evolve --version\`: the launcher and the JVM, no connection | ${med[version]} ms | $(ratio_to "${med[version]}" "${med[psql]}")× |
| side figure: evolve, $n tables, \`JAVA_TOOL_OPTIONS="$JVM_OPTS"\` | ${med[jvmopts]} ms | $(ratio_to "${med[jvmopts]}" "${med[psql]}")× |

**Where evolve's time goes** ($n tables; the server's figures from one run with log_min_duration_statement=0):
- the launcher and the JVM: ${med[version]} ms (the median of \`--version\`);
- the server, for evolve's statements: **$server_total ms**, of which the migration itself $server_migration ms (one DO
  block), the TRUNCATE watch $server_watch ms (a statement trigger on each of the $n tables, made by one DO block in
  the transaction), the two snapshots $server_snapshots ms (3 queries each), the text-columns read of \`./jbang source\`
  $server_textcols ms, the rest $server_other ms;
- the rest, about $client ms: loading pgjdbc and connecting (about 0.1 s in a cold JVM), and reading and judging
  the rows (a row per column of every table, twice) in a JVM that is not warm yet.

$fixed_note

- Runs (ms), $RUNS rounds: evolve ${runs[evolve]}; psql ${runs[psql]}; 10 tables ${runs[small]};
  --version ${runs[version]}; JVM options ${runs[jvmopts]}.
- The migration ($stmts statements, one a line): ADD COLUMN created_by text DEFAULT 'migration' on 200 tables;
  CREATE INDEX on 125; varchar(40) → varchar(80) on 25; DROP NOT NULL on 20; \`"Order Items".id\` int → bigint;
  a column "Größe" numeric(6,1) added to \`we"ird\`. evolve's verdicts: $verdicts (exit 9).
- Data: $n tables in four shapes (a bigint primary key and a varchar(40); a unique varchar(12) key; a two-column
  primary key and an enum column, which evolve treats as ingested as text, as \`./jbang source\` would; no key),
  every tenth in schema sales, the first four named "Order Items", we"ird, MixedCase, Überweisung; 10 rows each;
  REPLICA IDENTITY FULL; all listed in publication mz_source.
- Statements: counted in the server's log, log_statement=all for that session only (PGOPTIONS), the lines of
  application neonmz. The migration reaches the server as one statement (a DO block) however long it is; the
  10-table database has the same four shapes, the same odd names and its migration the same kinds of statement.
- Date: $(date -u +%Y-%m-%d) (UTC). Commit: $commit. Machine: $(uname -srm), $cpu, $(nproc) cores,
  $mem, shared with other work: load average (1, 5, 15 min) before: $load_before; after: $load_after.${idle_seen:+ Each round waited
  until the CPUs were ≥ 90 % idle for a second (at most 2 minutes; idle seen, %: ${idle_seen[*]}).}
- Versions: $(java -version 2>&1 | head -1); jbang-cli $(./jbang version 2>/dev/null </dev/null) (the launcher's own,
  NEONMZ_JBANG_FORCE_BUNDLED=1); $("$PG_BIN/postgres" --version) (Debian's, a private data
  directory on a free port, wal_level=logical, fsync=off, other settings default); $(psql --version).
- Both connect over TCP to 127.0.0.1 as postgres, sslmode=disable; stdout to /dev/null; each run timed with
  \`date +%s%N\` around it.
- Command: \`$command_line\`.
EOF
)
doc=$root/docs/benchmarks.md
SECTION="$section" python3 - "$doc" <<'PY'
import os, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
section = os.environ["SECTION"].rstrip() + "\n"
head = "## evolve --migration vs psql -f, 1,000 published tables"
start = text.find(head)
if start < 0:
    out = text.rstrip() + "\n\n" + section
else:
    nxt = text.find("\n## ", start + len(head))
    out = text[:start] + section + ("" if nxt < 0 else "\n" + text[nxt + 1:])
open(path, "w", encoding="utf-8").write(out)
PY
echo "written: docs/benchmarks.md" >&2
