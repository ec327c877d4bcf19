#!/usr/bin/env bash
# Create or reuse .venv and install bdqlib (editable) with its dependencies -- only when something is missing,
# so a second call returns at once. Used by run_all.sh and run_tests.sh; prints nothing when all is in place.
#   BDQ_PYTHON   interpreter to build the venv from (default: python3; needs >= 3.10)
#   BDQ_VENV     where the venv lives (default: <repo>/.venv)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${BDQ_VENV:-$root/.venv}"
py="${BDQ_PYTHON:-python3}"

# What an install must provide; checked without importing anything (find_spec), so the check takes ~0.1 s.
modules="bdqlib torch torchvision pytorchvideo cv2 av numpy pandas matplotlib ipywidgets PIL scipy torchmetrics pytorch_msssim timm ipykernel papermill jupytext nbconvert pytest selenium voila"
stamp="$venv/.bdqlib-install"
want="$(cat "$root/pyproject.toml" | sha256sum | cut -c1-16)"

complete() {
  [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] &&
    "$venv/bin/python" - "$modules" <<'PY'
import importlib.util, sys
missing = [m for m in sys.argv[1].split() if importlib.util.find_spec(m) is None]
sys.exit(1 if missing else 0)
PY
}

if complete 2>/dev/null; then exit 0; fi

if [ ! -x "$venv/bin/python" ]; then
  "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "bdq-repro needs Python >= 3.10, found " + sys.version.split()[0])'
  echo "[bootstrap] creating $venv"
  if [ -n "${KAGGLE_KERNEL_RUN_TYPE:-}" ] || [ -n "${COLAB_RELEASE_TAG:-}" ]; then
    # Kaggle / Colab: their preinstalled CUDA torch must be the one used (a fresh one is a multi-GB download and may
    # lack the platform GPU's kernels); the venv sees the platform's packages and adds only what is missing.
    "$py" -m venv --system-site-packages "$venv"
  else
    "$py" -m venv "$venv"
  fi
fi
echo "[bootstrap] installing bdqlib and its dependencies into $venv (first time: a few minutes)"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -e "$root[test]"
# A "python3" kernel spec inside the venv, so papermill runs notebooks with this interpreter (run_all.sh puts
# $venv/share/jupyter first on JUPYTER_PATH).
"$venv/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (bdq-repro)" >/dev/null
echo "$want" > "$stamp"
complete || { echo "[bootstrap] install finished but modules are still missing" >&2; exit 1; }
echo "[bootstrap] ready"
