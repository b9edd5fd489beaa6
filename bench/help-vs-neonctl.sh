#!/usr/bin/env bash
#
# Warm wall time of `--help`: this repo's ./jbang launcher (fast path, and the slow path through JBang's
# JVM) against Neon's own CLI, neonctl. Writes the figures into docs/benchmarks.md under
# "## Warm --help: launcher vs neonctl" (the section is replaced) and the raw data into bench/results/.
#
#   bench/help-vs-neonctl.sh [RUNS]      (default 20 rounds, after 3 warm-up rounds; a round runs each command once)
#
# neonctl comes from the npm registry (npm's configured registry, pinned version NEONCTL_VERSION) into
# ${NEONMZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neonmz}/bench/neonctl-<version>. hyperfine is used when it
# is installed (Debian: apt-get install hyperfine), else a loop timed with `date +%s%N`.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
runs=${1:-20}
warmup=3
neonctl_version=${NEONCTL_VERSION:-5.0.1}
cache_root=${NEONMZ_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/neonmz}
neonctl_dir=$cache_root/bench/neonctl-$neonctl_version
neonctl=$neonctl_dir/node_modules/.bin/neonctl
results=$root/bench/results
mkdir -p "$results"

command -v node >/dev/null || { echo "needs node and npm (for neonctl)" >&2; exit 1; }
if [ ! -x "$neonctl" ]; then
  echo "installing neonctl $neonctl_version into $neonctl_dir" >&2
  mkdir -p "$neonctl_dir"
  npm install --prefix "$neonctl_dir" --no-audit --no-fund --loglevel=error "neonctl@$neonctl_version" >&2
fi

# The launcher measured is this repo's, with its own pinned jbang-cli (not a jbang on PATH).
export NEONMZ_JBANG_FORCE_BUNDLED=1 NO_COLOR=1
unset NEONMZ_NO_FASTPATH NEONMZ_LAUNCHER_TRACE

fast="./jbang check-logical-replication --help"
nocds="env NEONMZ_NO_CDS=1 ./jbang check-logical-replication --help"
slow="env NEONMZ_NO_FASTPATH=1 ./jbang check-logical-replication --help"
theirs="$neonctl --help"
# warm everything once (fetch jbang-cli, compile the script, write the fast path's entry) and check
# each command succeeds
for c in "$fast" "$nocds" "$slow" "$theirs"; do
  $c > /dev/null 2>"$results/warm.err" < /dev/null || { cat "$results/warm.err" >&2; echo "failed: $c" >&2; exit 1; }
done
# (the trace is read whole: grep -q would stop reading early, and the launcher's next line would die of SIGPIPE)
trace=$(NEONMZ_LAUNCHER_TRACE=1 ./jbang check-logical-replication --help 2>&1 >/dev/null </dev/null)
grep -q 'fastpath hit' <<<"$trace" ||
  { echo "the fast path does not hit; check ./jbang with NEONMZ_LAUNCHER_TRACE=1" >&2; exit 1; }
grep -q '^neonmz-launcher: cds: ' <<<"$trace" ||
  echo "note: the fast path runs without a class-data archive (Java older than 13?)" >&2

# median in ms of a list of numbers (ns) on stdin
median_ms() { sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.1f", m / 1e6}'; }

# Rounds: each round times every command once, in a rotating order, so that a machine whose load
# changes during the run (other jobs on a shared CI box) weighs on all three alike.
names=(fast nocds slow neonctl)
declare -A cmd=([fast]=$fast [nocds]=$nocds [slow]=$slow [neonctl]=$theirs) median
for n in "${names[@]}"; do : > "$results/$n.ns"; done
if command -v hyperfine >/dev/null; then
  tool="hyperfine $(hyperfine --version | awk '{print $2}') (-N), one run of each command per round, $runs rounds after $warmup warm-up rounds, order rotated per round"
else
  tool="bash, date +%s%N around each run, $runs rounds after $warmup warm-up rounds, order rotated per round"
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
for ((round = -warmup; round < runs; round++)); do
  k=$(( (round + warmup) % ${#names[@]} ))
  order=("${names[@]:k}" "${names[@]:0:k}")
  if command -v hyperfine >/dev/null; then
    hargs=()
    for n in "${order[@]}"; do hargs+=(-n "$n" "${cmd[$n]}"); done
    hyperfine -N --runs 1 --output null --style none --export-json "$results/round.json" "${hargs[@]}" >&2
    [ $round -lt 0 ] && continue
    node -e '
      const fs = require("fs"); const dir = process.argv[1];
      for (const r of JSON.parse(fs.readFileSync(dir + "/round.json", "utf8")).results)
        fs.appendFileSync(dir + "/" + r.command + ".ns", Math.round(r.times[0] * 1e9) + "\n");' "$results"
  else
    for n in "${order[@]}"; do
      t0=$(date +%s%N); ${cmd[$n]} >/dev/null 2>&1 </dev/null; t1=$(date +%s%N)
      [ $round -ge 0 ] && echo $((t1 - t0)) >> "$results/$n.ns"
    done
  fi
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
for n in "${names[@]}"; do
  median[$n]=$(median_ms < "$results/$n.ns")
  echo "$n: median ${median[$n]} ms over $(wc -l < "$results/$n.ns") runs" >&2
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
fast_ratio=$(ratio "${median[fast]}" "${median[neonctl]}")
nocds_ratio=$(ratio "${median[nocds]}" "${median[neonctl]}")
slow_ratio=$(ratio "${median[slow]}" "${median[neonctl]}")

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)
mem=$(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null || echo unknown)
java_v=$(java -version 2>&1 | head -1)
jbang_v=$(./jbang version 2>/dev/null </dev/null)
node_v=$(node --version)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git status --porcelain -- jbang scripts lib 2>/dev/null)" ] || commit="$commit + local changes"

section=$(cat <<EOF
## Warm --help: launcher vs neonctl

Wall time of printing \`--help\`, warm (jbang-cli fetched, the script compiled, the fast path's entry
written; $warmup warm-up rounds). Ratio = median ours / median neonctl
(lower is faster; the aim is ≤ 0.3× for the fast path, issue #21). The slow path is what JBang costs on every run without the
cache; the fast path pays it once after each change of its key (an edited source, another java or
JBang version). On a shared machine the milliseconds move with the load: compare the ratios.

| command | median | ratio to neonctl |
|---|---:|---:|
| \`./jbang check-logical-replication --help\` (fast path: cached command, no JBang JVM; its class-data archive, no hsperfdata, and the step's C1-only JIT from its //JAVA_OPTIONS) | ${median[fast]} ms | **${fast_ratio}×** |
| \`NEONMZ_NO_CDS=1 ./jbang check-logical-replication --help\` (fast path without the archive) | ${median[nocds]} ms | ${nocds_ratio}× |
| \`NEONMZ_NO_FASTPATH=1 ./jbang check-logical-replication --help\` (slow path: JBang's JVM resolves the command first) | ${median[slow]} ms | ${slow_ratio}× |
| \`neonctl --help\` (neonctl $neonctl_version from npm) | ${median[neonctl]} ms | 1.00× |

- Date: $(date -u +%Y-%m-%d) (UTC). Commit: $commit.
- Machine: $(uname -srm), $cpu, $(nproc) cores, $mem.
- Versions: $java_v; jbang-cli $jbang_v (bundled, NEONMZ_JBANG_FORCE_BUNDLED=1); node $node_v; neonctl $neonctl_version.
- Timing: $tool; stdout to /dev/null; NO_COLOR=1. Load average (1, 5, 15 min) before: $load_before; after: $load_after.
- Command: \`bench/help-vs-neonctl.sh $runs\` (raw data in bench/results/, not committed).
EOF
)

doc=$root/docs/benchmarks.md
mkdir -p "${doc%/*}"
[ -f "$doc" ] || printf '# Benchmarks\n\nFigures measured on real runs; each section names its script under bench/.\n' > "$doc"
# replace the section (from its heading to the next "## " heading), or append it
SECTION="$section" node -e '
  const fs = require("fs"); const file = process.argv[1];
  const text = fs.readFileSync(file, "utf8"); const section = process.env.SECTION.trimEnd() + "\n";
  const head = "## Warm --help: launcher vs neonctl";
  const start = text.indexOf(head);
  let out;
  if (start < 0) {
    out = text.trimEnd() + "\n\n" + section;
  } else {
    const next = text.indexOf("\n## ", start + head.length);
    out = text.slice(0, start) + section + (next < 0 ? "" : "\n" + text.slice(next + 1));
  }
  fs.writeFileSync(file, out);' "$doc"

printf '%s\n' "$section"
