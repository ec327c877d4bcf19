#!/usr/bin/env bash
# The main job: run every notebook (01-08) headless with papermill into outputs/<run_id>/ and print that folder last.
#
#   ./run_all.sh --help                             # every parameter with its default, profiles, env variables
#   ./run_all.sh                                    # synthetic data, cpu profile
#   ./run_all.sh -p DATASET kth -p DATA_DIR /data/kth -p PROFILE paper
#   ./run_all.sh -p RUN_DIR outputs/20261122-101500  # resume an interrupted run in its folder
#   ./run_all.sh --only 01,02,03 -p RUN_DIR ...      # some notebooks only (in order; each resumes what is done)
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
args=()
while (($#)); do
  if [[ "$1" == "--only" ]]; then
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
status=0
for source in notebooks/[0-9][0-9]_*.py; do
  name="$(basename "$source" .py)"
  [[ -z "$only" || "$only" == *",${name:0:2},"* ]] || continue
  mapfile -t mine < <("$py" scripts/params.py args "$name" -- "${args[@]}")  # only what it declares
  start=$(date +%s)
  echo "[run_all] $name ..." | tee -a "$log"
  if "$py" -m papermill "notebooks/$name.ipynb" "$run_dir/$name.ipynb" -k python3 --cwd "$PWD" \
      --log-output --no-progress-bar "${mine[@]}" >>"$log" 2>&1; then
    echo "[run_all] $name done in $(( $(date +%s) - start ))s" | tee -a "$log"
  else
    status=1
    echo "[run_all] $name FAILED after $(( $(date +%s) - start ))s; see $run_dir/$name.ipynb and $log" | tee -a "$log"
  fi
  # an HTML rendering for reading without Jupyter (also of a failed, partial notebook)
  "$py" -m nbconvert --to html --log-level WARN "$run_dir/$name.ipynb" >>"$log" 2>&1 || true
  [[ $status -eq 0 ]] || break
done

# index.html: the run at a glance (status, headline with intervals, figures, environment, times, links to every
# notebook's report without code and with code) -- also for a run that stopped, so it says where
"$py" -m bdqlib.experiments.page "$run_dir" 2>&1 | tee -a "$log" || echo "[run_all] the report page could not be written; see $log" | tee -a "$log"

# outputs/latest -> the newest completed run (for runs kept under outputs/)
if [[ $status -eq 0 && "$(cd "$(dirname "$run_dir")" && pwd)" == "$PWD/outputs" ]]; then
  ln -sfn "$(basename "$run_dir")" outputs/latest
fi
echo "$run_dir"
exit $status
