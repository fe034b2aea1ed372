#!/usr/bin/env bash
# dlbook on Python 3.11 and 3.12 (pyproject: requires-python = ">=3.11,<3.13").
#
#   bash tools/check_python312.sh          # what .ci/run calls after `make test`
#
# 1. Builds dlbook's wheel (pure Python) and installs it with pip, with the book's
#    constraints, into a fresh venv on Python 3.11 and on Python 3.12; each imports
#    dlbook, runs a NumPy layer and an exercise check, and reads the book's home.
# 2. Runs the unit tests on Python 3.12 in .venv/py312 (the pinned set without torch
#    and tensorflow: the pinned torch is a CPU wheel on disk for 3.11 only, and PyPI's
#    is a CUDA build of several GB). Tests that need a framework are reported as
#    skipped by tools/pytest_without_frameworks.py; everything else must pass.
#
# Python 3.12 is looked for in $PYTHON312, on PATH, in pyenv's versions and in
# /usr/bin. Where none exists the script says so and exits 0 (on Debian 12,
# `apt-cache policy python3.12` has no candidate; `uv python install 3.12` and
# python.org need a download that this machine cannot make). Set
# DLBOOK_PY312_TESTS=0 to skip step 2 (the wheel checks still run).
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=3

find_python() {  # find_python 3.12 -> path of a working interpreter, or nothing
    local want=$1 candidate
    for candidate in ${PYTHON312:-} "python$want" \
        "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/"$want".*/bin/"python$want" \
        "/usr/bin/python$want" "/usr/local/bin/python$want"; do
        [ -n "$candidate" ] || continue
        if "$candidate" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$want'.split('.')))" 2>/dev/null; then
            command -v "$candidate" || echo "$candidate"
            return 0
        fi
    done
    return 1
}

PY311=$(find_python 3.11) || { echo "check_python312: no Python 3.11 found"; exit 1; }
if ! PY312=$(find_python 3.12); then
    echo "check_python312: no Python 3.12 on this machine: the 3.12 checks are skipped."
    PY312=""
fi
echo "check_python312: Python 3.11 = $PY311, Python 3.12 = ${PY312:-none}"

# --- 1. the wheel installs and works on each Python --------------------------------------
DIST=_build/wheel-check
rm -rf "$DIST" && mkdir -p "$DIST"
.venv/bin/python tools/build_lite.py wheel --out "$DIST" >/dev/null
WHEEL=$(ls "$DIST"/dlbook-*-py3-none-any.whl)
SMOKE='
import sys, numpy as np, dlbook, dlbook._home
from dlbook.nn import numpy_backend as nn
from dlbook.checks.backprop import check_sigmoid_backward
dlbook.require("0.1")
rng = dlbook.seed_everything(0)
a = nn.sigmoid(nn.linear(np.array([[1.0, 2.0]]), np.array([[0.5], [-1.0]]), np.array([0.25])))
assert abs(a.item() - 0.2227) < 1e-4, a
def sigmoid_backward(x, g):
    s = 1 / (1 + np.exp(-x))
    return g * s * (1 - s)
assert check_sigmoid_backward(sigmoid_backward).passed
print(f"python {sys.version.split()[0]}: dlbook {dlbook.__version__} from the wheel works;",
      f"home {dlbook._home.REPOSITORY_URL}")
'
for PY in "$PY311" ${PY312:+"$PY312"}; do
    VERSION=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    VENV=.venv/wheel-check-$VERSION
    rm -rf "$VENV"
    "$PY" -m venv "$VENV"
    # the wheel's own requirements, at the book's pins (torch/TF are extras: not installed)
    "$VENV/bin/python" -m pip install -q "$WHEEL" -c constraints.txt
    (cd "$DIST" && "../../$VENV/bin/python" -c "$SMOKE")  # not the checkout's src/
    rm -rf "$VENV"
done

# --- 2. the unit tests on Python 3.12, without the frameworks ------------------------------
if [ -z "$PY312" ] || [ "${DLBOOK_PY312_TESTS:-1}" = 0 ]; then
    exit 0
fi
VENV=.venv/py312
STAMP=$VENV/.installed
if [ ! -f "$STAMP" ] || [ requirements.txt -nt "$STAMP" ] || [ constraints.txt -nt "$STAMP" ] \
    || [ pyproject.toml -nt "$STAMP" ]; then
    rm -rf "$VENV"
    "$PY312" -m venv "$VENV"
    grep -vE '^(torch|tensorflow)==' requirements.txt > "$VENV/requirements-no-frameworks.txt"
    "$VENV/bin/python" -m pip install -q -r "$VENV/requirements-no-frameworks.txt" -c constraints.txt
    "$VENV/bin/python" -m pip install -q --no-deps -e .
    touch "$STAMP"
fi
echo "check_python312: unit tests on $("$VENV/bin/python" --version), without torch and tensorflow"
PYTHONPATH=tools "$VENV/bin/python" -m pytest -p pytest_without_frameworks tests \
    --ignore=tests/book -q -p no:cacheprovider
