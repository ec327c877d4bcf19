# Sourced by run_all.sh: with BDQ_DETERMINISTIC set (not 0), export the kernel caps of the deterministic mode
# (bdqlib.platform.DETERMINISTIC_ENV) before any notebook kernel starts, so they hold even in a notebook that imports
# torch before bdqlib -- torch chooses its CPU kernels when it is first imported.
if [[ -n "${BDQ_DETERMINISTIC:-}" && "${BDQ_DETERMINISTIC}" != "0" ]]; then
  eval "$(env -u BDQ_DETERMINISTIC "${BDQ_PY:-.venv/bin/python}" -c \
    'from bdqlib.platform import DETERMINISTIC_ENV as e; print(" ".join(f"export {k}={v}" for k, v in e.items()))')"
fi
