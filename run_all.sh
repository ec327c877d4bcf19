#!/usr/bin/env bash
# The main job: run every notebook (01-08) headless with papermill into outputs/<run_id>/ and print that folder last.
#
#   ./run_all.sh --help                             # every parameter with its default, profiles, env variables
#   ./run_all.sh                                    # synthetic data, cpu profile
#   ./run_all.sh -p DATASET kth -p DATA_DIR /data/kth -p PROFILE paper
#   ./run_all.sh -p RUN_DIR outputs/20261122-101500  # resume an interrupted run in its folder
#   ./run_all.sh --only 01,02,03 -p RUN_DIR ...      # some notebooks only (in order; each resumes what is done)
#   ./run_all.sh --sequential                        # one notebook at a time, also on a CPU (see SIDE_BY_SIDE)
#
# Parameters are checked before anything runs (an unknown name or a value of the wrong type stops here, naming
# it), and each notebook receives only the parameters it declares. Other papermill options are passed through.
# The folder gets index.html (open it first), the executed notebooks (.ipynb, .html, and .report.html without
# code cells), run.log, run.json (the parameters), results.csv, figures and checkpoints; outputs/latest points at
# it once the run completes. Stops at the first failing notebook (exit code 1), keeping its partial output.
set -euo pipefail
cd "$(dirname "$0")"
if [[ " $* " == *" --help "* || " $* " == *" -h "* ]]; then
  scripts/bootstrap.sh >&2
  exec .venv/bin/python scripts/params.py usage
fi
scripts/bootstrap.sh
export JUPYTER_PATH="$PWD/.venv/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
export PYTHONUNBUFFERED=1
export BDQ_HEADLESS=1  # no front end: widgets only save their first view (bdqlib.widgets)
py=.venv/bin/python
source scripts/deterministic_env.sh  # BDQ_DETERMINISTIC=1: the kernel caps, exported before any notebook starts
only=""  # --only 01,03: run these notebooks (by number) and skip the others
# Notebooks that need only 01-03's outputs and not each other's run side by side on a CPU: each trains in its own
# pool of one-thread processes, and together they fill the core that one alone leaves idle (04's game holds one
# core while its suite waits for it; 05's RAPrivacy runs alone for minutes). Their rows are the same as one at a
# time (each training keeps its one thread); their tables show their own encoders, raw's and BDQ's, never another
# notebook's. 06 waits for 04 (its sweeps add to BDQ's suite, whose rows 04 copies for B+D+Q). Not on a GPU: the
# trainings would share one device's memory. --sequential: one at a time.
SIDE_BY_SIDE="04 05 07"
# All at one priority: giving 05 (the longest chain) the cores made 04's own chain (its game, then its suite) end
# last -- measured: run 20261207-211912, 04 and 07 niced per kernel session, stage 911 s against 912 and 825 s at
# one priority (runs 20261207-195121, and -201914 whose plain nice does not act between kernels' sessions); the
# stage is bound by its work (~810 s on two cores).
sequential=0
args=()
while (($#)); do
  if [[ "$1" == "--sequential" ]]; then
    sequential=1
    shift
  elif [[ "$1" == "--only" ]]; then
    if [[ $# -lt 2 || "$2" == -* ]]; then
      echo "run_all.sh: --only needs a list of notebook numbers, e.g. --only 01,02,03" >&2
      exit 2
    fi
    only=",$2,"
    for n in ${2//,/ }; do
      if ! compgen -G "notebooks/${n}_*.py" >/dev/null; then
        echo "run_all.sh: --only: no notebook numbered '$n' in notebooks/" >&2
        exit 2
      fi
    done
    shift 2
  else
    args+=("$1")
    shift
  fi
done
set -- ${args[@]+"${args[@]}"}
"$py" scripts/params.py check -- "$@" || exit 2

run_dir=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ "${args[i]}" == "-p" || "${args[i]}" == "--parameters" ]] && [[ "${args[i + 1]:-}" == "RUN_DIR" ]]; then
    run_dir="${args[i + 2]:-}"
  fi
done
if [[ -z "$run_dir" ]]; then
  run_dir="${BDQ_OUTPUTS_ROOT:-outputs}/$(date +%Y%m%d-%H%M%S)"
  args+=(-p RUN_DIR "$run_dir")
fi
mkdir -p "$run_dir"
log="$run_dir/run.log"
echo "[run_all] run folder: $run_dir" | tee -a "$log"

"$py" scripts/sync_notebooks.py | tee -a "$log"  # the .py sources are the truth; refresh their .ipynb
run_notebook() {  # NAME OUT: papermill into the run folder, its output appended to OUT, then the HTML rendering
  local name="$1" out="$2" start rc=0
  mapfile -t mine < <("$py" scripts/params.py args "$name" -- "${args[@]}")  # only what it declares
  start=$(date +%s)
  echo "[run_all] $name ..." | tee -a "$out"
  if "$py" -m papermill "notebooks/$name.ipynb" "$run_dir/$name.ipynb" -k python3 --cwd "$PWD" \
      --log-output --no-progress-bar "${mine[@]}" >>"$out" 2>&1; then
    echo "[run_all] $name done in $(( $(date +%s) - start ))s" | tee -a "$out"
  else
    rc=1
    echo "[run_all] $name FAILED after $(( $(date +%s) - start ))s; see $run_dir/$name.ipynb and $log" | tee -a "$out"
  fi
  # an HTML rendering for reading without Jupyter (also of a failed, partial notebook)
  "$py" -m nbconvert --to html --log-level WARN "$run_dir/$name.ipynb" >>"$out" 2>&1 || true
  return $rc
}

names=()
for source in notebooks/[0-9][0-9]_*.py; do
  name="$(basename "$source" .py)"
  if [[ -z "$only" || "$only" == *",${name:0:2},"* ]]; then names+=("$name"); fi
done
together=()  # the notebooks of this run that go side by side (none on a GPU or with --sequential)
if [[ $sequential -eq 0 ]] && ! "$py" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  for name in "${names[@]}"; do
    if [[ " $SIDE_BY_SIDE " == *" ${name:0:2} "* ]]; then together+=("$name"); fi
  done
fi
((${#together[@]} >= 2)) || together=()
stages=()  # each a space-separated list of notebooks; the side-by-side ones at the place of the first of them
for name in "${names[@]}"; do
  if [[ " ${together[*]-} " == *" $name "* ]]; then
    [[ "$name" == "${together[0]}" ]] && stages+=("${together[*]}")
  else
    stages+=("$name")
  fi
done

status=0
run_start=$(date +%s)
for stage in "${stages[@]}"; do
  read -r -a members <<<"$stage"
  if ((${#members[@]} == 1)); then
    run_notebook "$stage" "$log" || status=1
  else
    # each writes its own log, appended whole to run.log when all have ended (run.log stays one section per notebook)
    start=$(date +%s)
    mkdir -p "$run_dir/logs"
    echo "[run_all] side by side: ${members[*]} (their output: $run_dir/logs/)" | tee -a "$log"
    pids=()
    for name in "${members[@]}"; do
      : >"$run_dir/logs/$name.log"
      run_notebook "$name" "$run_dir/logs/$name.log" &
      pids+=($!)
    done
    for pid in "${pids[@]}"; do
      wait "$pid" || status=1
    done
    for name in "${members[@]}"; do
      cat "$run_dir/logs/$name.log" >>"$log" && rm -f "$run_dir/logs/$name.log"
    done
    rmdir "$run_dir/logs" 2>/dev/null || true
    echo "[run_all] side by side $(IFS=,; echo "${members[*]}") ended in $(( $(date +%s) - start ))s" | tee -a "$log"
  fi
  [[ $status -eq 0 ]] || break
done
[[ $status -ne 0 ]] || echo "[run_all] all ${#names[@]} notebooks ended in $(( $(date +%s) - run_start ))s" | tee -a "$log"

# index.html: the run at a glance (status, headline with intervals, figures, environment, times, links to every
# notebook's report without code and with code) -- also for a run that stopped, so it says where
"$py" -m bdqlib.experiments.page "$run_dir" 2>&1 | tee -a "$log" || echo "[run_all] the report page could not be written; see $log" | tee -a "$log"

# outputs/latest -> the newest completed run (for runs kept under outputs/)
if [[ $status -eq 0 && "$(cd "$(dirname "$run_dir")" && pwd)" == "$PWD/outputs" ]]; then
  ln -sfn "$(basename "$run_dir")" outputs/latest
fi
echo "$run_dir"
exit $status
