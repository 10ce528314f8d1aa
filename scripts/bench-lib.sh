# Shared by the benchmark scripts (sourced, not run): needs RUNS set.

# best LABEL COMMAND... — runs COMMAND RUNS times (stdout discarded, stderr of the last run in
# /tmp/mqscope-best.err) and prints "LABEL best_wall_s best_cpu_s peak_rss_kb": the best wall
# time, the best CPU time (user + system) and the largest peak RSS, from /usr/bin/time.
best() {
  local label=$1; shift
  local best_s="" best_cpu="" rss=0 s u sy m cpu
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -f "%e %U %S %M" -o /tmp/mqscope-best.time "$@" > /dev/null 2> /tmp/mqscope-best.err || true
    read -r s u sy m < /tmp/mqscope-best.time
    cpu=$(awk -v u="$u" -v s="$sy" 'BEGIN { printf "%.2f", u + s }')
    if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then best_s=$s; fi
    if [ -z "$best_cpu" ] || awk -v a="$cpu" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then best_cpu=$cpu; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  echo "$label $best_s $best_cpu $rss"
}
