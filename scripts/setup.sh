#!/usr/bin/env bash
# Creates (or refreshes) the project's isolated environment: the tested OpenMMLab stack on
# current PyTorch, mmcv built with its compiled ops, and lavit_mm in editable mode.
#
#   bash scripts/setup.sh            # idempotent: a few seconds when nothing changed
#
# Environment variables:
#   LAVIT_VENV   where the virtual environment lives          (default: <repo>/.venv)
#   LAVIT_CACHE  where the compiled mmcv wheel is cached      (default: ~/.cache/lavit_mm)
#   PYTHON       the interpreter the environment is made from (default: python3)
#   MAX_JOBS     parallel compile jobs for mmcv               (default: number of cores)
#
# Every work-around below is listed with what it answers in docs/install.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${LAVIT_VENV:-$ROOT/.venv}
CACHE=${LAVIT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lavit_mm}
PYTHON=${PYTHON:-python3}
MMCV_VERSION=2.1.0
# setuptools 77-80: torch 2.13 wants >=77.0.3, mmcv's setup.py and mmengine's `mmdet::` base
# config lookup need pkg_resources, which setuptools 81 removed.
SETUPTOOLS='setuptools>=77.0.3,<81'

log() { printf '[setup] %s\n' "$*"; }
T0=$(date +%s)

# The inputs that define the environment; any change to them re-runs the full install.
STAMP_INPUTS=("$ROOT/scripts/setup.sh" "$ROOT/requirements/pinned.txt" "$ROOT/requirements/mim.txt"
              "$ROOT/setup.cfg" "$ROOT/pyproject.toml")
stamp_of_inputs() { cat "${STAMP_INPUTS[@]}" | sha256sum | cut -d' ' -f1; }
STAMP_FILE=$VENV/.lavit_mm_setup_stamp
CHECK='import mmcv, mmcv.ops, mmdet, mmseg, mmpretrain, lavit_mm; from mmcv.ops import nms'

if [[ -f $STAMP_FILE && $(cat "$STAMP_FILE") == "$(stamp_of_inputs)" ]] \
   && "$VENV/bin/python" -c "$CHECK" 2>/dev/null; then
  log "environment at $VENV is up to date ($(( $(date +%s) - T0 )) s)"
  exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
  log "creating virtual environment at $VENV"
  "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
# pip, minus the notices about this machine's empty local index folders.
pip_() {
  "$PY" -m pip --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
  return "${PIPESTATUS[0]}"
}
pip_ install -q --upgrade pip "$SETUPTOOLS" wheel ninja

log "installing torch + torchvision (the standard registry pair)"
pip_ install -q -r <(grep -E '^torch' "$ROOT/requirements/pinned.txt")

# mmcv has no wheel for this torch: build it once from the sdist, with its ops, and cache the
# wheel under a key that includes the torch build, because pip's own wheel cache does not.
# Build isolation is off so the build sees the installed torch.
KEY=$("$PY" - <<'EOF'
import sys, torch
cuda = torch.version.cuda if torch.cuda.is_available() else 'cpu'
print(f"py{sys.version_info[0]}{sys.version_info[1]}-torch{torch.__version__}-{cuda}")
EOF
)
WHEEL_DIR=$CACHE/mmcv-$MMCV_VERSION-$KEY
if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  log "building mmcv $MMCV_VERSION with compiled ops for $KEY (about 15 min on 2 cores, once)"
  mkdir -p "$CACHE"
  TMP=$(mktemp -d "$CACHE/build.XXXXXX")
  MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    pip_ wheel -q --no-deps --no-build-isolation --no-cache-dir \
    "mmcv==$MMCV_VERSION" -w "$TMP"
  rm -rf "$WHEEL_DIR" && mv "$TMP" "$WHEEL_DIR"
fi
pip_ install -q "$WHEEL_DIR"/mmcv-*.whl

log "installing the OpenMMLab toolboxes"
pip_ install -q -r "$ROOT/requirements/pinned.txt" "$SETUPTOOLS"
# openmim without its dependency chain, then what its commands use.
pip_ install -q --no-deps -r <(grep -E '^openmim' "$ROOT/requirements/mim.txt")
pip_ install -q -r <(grep -vE '^(#|openmim)' "$ROOT/requirements/mim.txt")

log "installing lavit_mm (editable)"
pip_ install -q --no-build-isolation --no-deps -e "$ROOT"
# openmim (mim train/test/run lavit_mm, mim list) looks for a codebase at
# site-packages/lavit_mm, where an editable (PEP 660) install puts nothing: link the package
# there (a wheel install has it anyway; docs/install.md).
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
[[ -e $SITE/lavit_mm ]] || ln -s "$ROOT/lavit_mm" "$SITE/lavit_mm"
# Every declared dependency must hold, except openmim's on opendatalab (left out on purpose).
if problems=$(pip_ check | grep -v '^openmim .* requires opendatalab' | grep -v '^No broken'); then
  echo "$problems"; exit 1
fi

"$PY" -c "$CHECK"
stamp_of_inputs > "$STAMP_FILE"
log "done in $(( $(date +%s) - T0 )) s; activate with: source $VENV/bin/activate"
