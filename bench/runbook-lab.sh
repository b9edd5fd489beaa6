#!/usr/bin/env bash
#
# Wall time of the README's main command, `./jbang runbook --lab`, warm and cold, each against a yardstick
# measured in the same run. Appends a section to docs/benchmarks.md; raw lines into bench/results/.
#
#   bench/runbook-lab.sh [ROUNDS]     (default 3 warm rounds)
#
# warm: jbang-cli fetched, Runbook compiled, the fast path's entry written. Each run gets a fresh lab
#       directory (so each pays the lab's initdb, as a newcomer's first run does). Yardstick: the same work
#       as separate ./jbang commands, the way the README's one-liners run it: lab start --detach, the five
#       Neon-side steps and the stream check, the six Materialize steps' --dry-run, lab stop (each its own JVM, fast path warm).
# cold: a fresh JBANG_DIR, launcher cache (NEONMZ_CACHE) and local Maven repository (JBANG_REPO, and
#       the launcher's Maven via -Dmaven.repo.local in MAVEN_OPTS), so jbang-cli, every //DEPS jar and the
#       PostgreSQL binaries come from Maven Central. Yardstick: one `mvn dependency:resolve` of the same
#       artifacts (jbang-cli and the //DEPS of Runbook.java and Lab.java) into a fresh local repository:
#       the download alone, which no run on a fresh machine can avoid.
# Materialize: --emulator never (there is no Docker here); the Materialize steps print their plan.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rounds=${1:-3}
results=$root/bench/results
mkdir -p "$results"
scratch=$(mktemp -d "${TMPDIR:-/tmp}/neonmz-bench-rb.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
chmod 755 "$scratch"   # as root the lab's PostgreSQL runs as another user, which must reach its directory
export NEONMZ_JBANG_FORCE_BUNDLED=1 NO_COLOR=1
unset NEONMZ_NO_FASTPATH NEONMZ_LAUNCHER_TRACE DATABASE_URL PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD MZ_URL
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export NEONMZ_LAB_PORT=$port
now_ns() { date +%s%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f\n", (b - a) / 1e6}'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

runbook() { ./jbang runbook --lab --emulator never > "$results/runbook.out" 2>&1 < /dev/null; }
separately() {
  ./jbang lab start --detach >/dev/null
  eval "$(./jbang lab env)"
  export DATABASE_URL PGPASSFILE
  local t='customers,orders,"Order Items",page_views' pw=$NEONMZ_LAB_DIR/materialize.password
  ./jbang check-logical-replication >/dev/null
  ./jbang replica-identity --table "$t" >/dev/null 2>&1
  ./jbang publication --table "$t" >/dev/null 2>&1
  ./jbang replication-role --password-out "$pw" >/dev/null
  ./jbang grants >/dev/null
  ./jbang stream-check --role materialize --password-file "$pw" >/dev/null
  ./jbang cluster --dry-run >/dev/null
  ./jbang connection --password-file "$pw" --dry-run >/dev/null 2>&1
  ./jbang source --dry-run >/dev/null 2>&1
  ./jbang monitor --until-snapshotted --dry-run >/dev/null
  ./jbang right-size --dry-run >/dev/null
  ./jbang explore --create-examples --subscribe-seconds 3 --dry-run >/dev/null
  ./jbang lab stop >/dev/null
  unset DATABASE_URL PGPASSFILE
}

# ---- warm ------------------------------------------------------------------------------------
export NEONMZ_LAB_DIR=$scratch/warmup-lab
runbook || { cat "$results/runbook.out" >&2; exit 1; }
NEONMZ_LAB_DIR=$scratch/warmup-sep separately
: > "$results/runbook-warm.ms"; : > "$results/separately-warm.ms"
for i in $(seq "$rounds"); do
  export NEONMZ_LAB_DIR=$scratch/lab-rb-$i
  a=$(now_ns); runbook; b=$(now_ns); ms "$a" "$b" >> "$results/runbook-warm.ms"
  export NEONMZ_LAB_DIR=$scratch/lab-sep-$i
  a=$(now_ns); separately; b=$(now_ns); ms "$a" "$b" >> "$results/separately-warm.ms"
done
grep -q '^runbook: 4 done, 2 already done, 6 skipped' "$results/runbook.out" || { cat "$results/runbook.out" >&2; exit 1; }
warm_rb=$(median < "$results/runbook-warm.ms"); warm_sep=$(median < "$results/separately-warm.ms")

# ---- cold ------------------------------------------------------------------------------------
cold=$scratch/cold
mkdir -p "$cold"
export NEONMZ_LAB_DIR=$cold/lab
a=$(now_ns)
JBANG_DIR=$cold/jbang NEONMZ_CACHE=$cold/cache JBANG_REPO=$cold/m2 MAVEN_OPTS="-Dmaven.repo.local=$cold/m2" \
  ./jbang runbook --lab --emulator never > "$results/runbook-cold.out" 2>&1 < /dev/null
b=$(now_ns); cold_rb=$(ms "$a" "$b")
grep -q '^runbook: 4 done' "$results/runbook-cold.out" || { cat "$results/runbook-cold.out" >&2; exit 1; }
jbang_version=$(sed -n 's:.*<jbang.version>\([0-9][^<]*\)</jbang.version>.*:\1:p' pom.xml | head -1)
# what the runbook's first run must fetch: jbang-cli, and the //DEPS of Runbook.java and of the scripts it
# sources (JBang merges them; Lab.java's PostgreSQL build with its placeholder's default, as here)
artifacts=("dev.jbang:jbang-cli:$jbang_version")
while read -r g; do artifacts+=("$g"); done < <(sed -n 's:^//DEPS \([^ ]*\).*:\1:p' scripts/Runbook.java scripts/Lab.java \
  | sed 's/\${env\.[A-Za-z_]*:\([^}]*\)}/\1/' | sort -u)
# one Maven invocation resolving them all (a throwaway pom), into an empty repository
mkdir -p "$cold/yardstick"
{
  echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
  echo '<groupId>bench</groupId><artifactId>cold-yardstick</artifactId><version>1</version><dependencies>'
  for g in "${artifacts[@]}"; do
    IFS=: read -r gid aid ver <<< "$g"
    echo "<dependency><groupId>$gid</groupId><artifactId>$aid</artifactId><version>$ver</version></dependency>"
  done
  echo '</dependencies></project>'
} > "$cold/yardstick/pom.xml"
a=$(now_ns)
mvn -q -B -f "$cold/yardstick/pom.xml" dependency:resolve -Dmaven.repo.local="$cold/m2-yardstick" > /dev/null
b=$(now_ns); cold_get=$(ms "$a" "$b")
bytes=$(du -sb "$cold/m2-yardstick" | cut -f1)

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
commit=$(git rev-parse --short HEAD)
{
  echo
  echo "## runbook --lab: warm and cold"
  echo
  echo "Wall time of the README's main command, \`./jbang runbook --lab\` (here with \`--emulator never\`: no Docker,"
  echo "so the Materialize steps print their plan), each figure against a yardstick timed in the same run."
  echo "Aim: warm ≤ 15 s."
  echo
  echo "| | ours | yardstick | ratio |"
  echo "|---|---:|---:|---:|"
  echo "| warm (median of $rounds; fresh lab dir each, so initdb included) | **$(awk -v m="$warm_rb" 'BEGIN{printf "%.1f s", m/1000}')** | $(awk -v m="$warm_sep" 'BEGIN{printf "%.1f s", m/1000}') — the same work as 14 separate \`./jbang\` commands (lab start, 5 steps, the stream check, 6 dry runs, lab stop) | $(ratio "$warm_rb" "$warm_sep")× |"
  echo "| cold (fresh JBANG_DIR, NEONMZ_CACHE, JBANG_REPO) | **$(awk -v m="$cold_rb" 'BEGIN{printf "%.1f s", m/1000}')** | $(awk -v m="$cold_get" 'BEGIN{printf "%.1f s", m/1000}') — one \`mvn dependency:resolve\` of jbang-cli and the $((${#artifacts[@]} - 1)) //DEPS the runbook needs into an empty repository ($((bytes / 1048576)) MiB with Maven's own plugin): the download alone | $(ratio "$cold_rb" "$cold_get")× |"
  echo
  echo "- Date: $(date -u +%F) (UTC). Commit: $commit. Machine: $(uname -sr), $(nproc) cores. Java: $(java -version 2>&1 | head -1)."
  echo "- Warm runs (ms): ours $(paste -sd' ' "$results/runbook-warm.ms"); yardstick $(paste -sd' ' "$results/separately-warm.ms")."
  echo "- Load average before the cold run: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "- Command: \`bench/runbook-lab.sh $rounds\`."
} >> docs/benchmarks.md
tail -15 docs/benchmarks.md
