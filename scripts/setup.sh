#!/usr/bin/env bash
# Creates (or refreshes) the project's isolated environment: the tested OpenMMLab stack on
# current PyTorch, mmcv built with its compiled ops, and lavit_mm in editable mode.
#
#   bash scripts/setup.sh            # idempotent: a few seconds when nothing changed
#   LAVIT_TORCH=keep bash scripts/setup.sh              # (or --keep-torch) GPU cluster: keep
#                                    # the torch that PYTHON / LAVIT_VENV already has
#   LAVIT_WHEELHOUSE=DIR bash scripts/setup.sh          # (or --wheelhouse DIR) offline: install
#                                    # only from DIR (made by scripts/make_wheelhouse.sh)
#
# Environment variables:
#   LAVIT_VENV   where the virtual environment lives          (default: <repo>/.venv)
#   LAVIT_CACHE  where the compiled mmcv wheel is cached      (default: ~/.cache/lavit_mm)
#   PYTHON       the interpreter the environment is made from (default: python3)
#   MAX_JOBS     parallel compile jobs for mmcv               (default: number of cores)
#   LAVIT_TORCH  'keep': no torch install; the environment is made with --system-site-packages
#                from PYTHON (which has the cluster's torch), or LAVIT_VENV is an existing
#                environment with torch; pip is constrained to the torch/torchvision present
#   LAVIT_WHEELHOUSE  a folder of wheels: no index, no pip configuration, only that folder
#   TORCH_CUDA_ARCH_LIST  GPUs to compile mmcv's CUDA ops for (default: those visible)
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
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }
T0=$(date +%s)

while (( $# )); do
  case $1 in
    --keep-torch) LAVIT_TORCH=keep; shift ;;
    --wheelhouse) LAVIT_WHEELHOUSE=${2:?--wheelhouse needs a folder}; shift 2 ;;
    *) die "unknown option '$1' (the options are described at the top of $0)" ;;
  esac
done
TORCH_MODE=${LAVIT_TORCH:-install}
[[ $TORCH_MODE == install || $TORCH_MODE == keep ]] \
  || die "LAVIT_TORCH is 'keep' or unset, not '$TORCH_MODE'"
WHEELHOUSE=${LAVIT_WHEELHOUSE:-}

if [[ -n $WHEELHOUSE ]]; then
  [[ -d $WHEELHOUSE ]] || die "LAVIT_WHEELHOUSE=$WHEELHOUSE is not a folder (make one with scripts/make_wheelhouse.sh)"
  WHEELHOUSE=$(cd "$WHEELHOUSE" && pwd)
  # Offline: every pip call (and pip's own build subprocesses, which inherit the environment)
  # sees that folder and nothing else. PIP_* variables and pip.conf files can add indexes,
  # find-links (this machine's /opt/wheels holds a torch +cpu build) and constraints: drop
  # them all, and read no configuration file.
  while read -r var; do unset "$var"; done < <(compgen -e | grep '^PIP_' || true)
  export PIP_CONFIG_FILE=/dev/null PIP_NO_INDEX=1 PIP_FIND_LINKS=$WHEELHOUSE
  MANIFEST=$WHEELHOUSE/lavit_wheelhouse.txt
  if [[ -f $MANIFEST && $TORCH_MODE == install ]] && grep -qx 'with_torch=no' "$MANIFEST"; then
    die "$WHEELHOUSE has no torch: add LAVIT_TORCH=keep (the node's own torch) or remake it with make_wheelhouse.sh --with-torch"
  fi
fi

# The inputs that define the environment; any change to them re-runs the full install.
STAMP_INPUTS=("$ROOT/scripts/setup.sh" "$ROOT/scripts/setup_helpers.py"
              "$ROOT/requirements/pinned.txt" "$ROOT/requirements/mim.txt"
              "$ROOT/setup.cfg" "$ROOT/pyproject.toml")
# Keeping the machine's torch makes a different environment: switching modes re-installs.
stamp_of_inputs() {
  { cat "${STAMP_INPUTS[@]}"
    if [[ $TORCH_MODE == keep ]]; then echo 'LAVIT_TORCH=keep'; fi
  } | sha256sum | cut -d' ' -f1
}
STAMP_FILE=$VENV/.lavit_mm_setup_stamp
CHECK='import mmcv, mmcv.ops, mmdet, mmseg, mmpretrain, lavit_mm, lavit_mm_lab; from mmcv.ops import nms'
# With a GPU, the compiled CUDA kernels must run as well: a mmcv built without them imports
# fine and fails only on the first CUDA tensor.
CUDA_CHECK='
import torch
if torch.cuda.is_available():
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [50., 50., 60., 60.]],
                         device="cuda")
    dets, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7], device="cuda"), iou_threshold=0.5)
    assert keep.is_cuda and keep.tolist() == [0, 2], keep
    print("[setup] CUDA op check passed: mmcv.ops.nms on", torch.cuda.get_device_name(keep.device))
else:
    print("[setup] CUDA op check skipped: torch.cuda.is_available() is False here")
'

if [[ -f $STAMP_FILE && $(cat "$STAMP_FILE") == "$(stamp_of_inputs)" ]] \
   && "$VENV/bin/python" -c "$CHECK"$'\n'"$CUDA_CHECK" >/dev/null 2>&1; then
  log "environment at $VENV is up to date ($(( $(date +%s) - T0 )) s)"
  exit 0
fi

if [[ ! -x $VENV/bin/python ]]; then
  if [[ $TORCH_MODE == keep ]]; then
    # The venv sees PYTHON's packages (its torch) and installs the rest over them.
    log "creating virtual environment at $VENV over $PYTHON's packages (--system-site-packages)"
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    log "creating virtual environment at $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
fi
PY=$VENV/bin/python
# pip, minus the notices about this machine's empty local index folders.
pip_() {
  "$PY" -m pip --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
  return "${PIPESTATUS[0]}"
}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [[ -n $WHEELHOUSE && -f $MANIFEST ]]; then
  want=$(sed -n 's/^python=//p' "$MANIFEST")
  have=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [[ $want == "$have" ]] \
    || die "$WHEELHOUSE holds wheels for Python $want, $VENV has $have: make_wheelhouse.sh DIR --python $have"
fi

# Keep mode: pip may install anything but another torch/torchvision. The versions present go
# into a constraints file passed to every install (PIN; '===' is an exact string match, so not
# even a +cpu build of the same release qualifies), and the pinned torch lines are left out:
# no dependency can replace or downgrade them. Checked again at the end.
PIN=()
PINNED=$ROOT/requirements/pinned.txt
torch_state() {
  "$PY" -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.__file__)'
}
if [[ $TORCH_MODE == keep ]]; then
  "$PY" -c 'import torch' 2>/dev/null || die "LAVIT_TORCH=keep, but $PY cannot import torch. \
Make the environment from the interpreter that has it: rm -rf $VENV; PYTHON=/path/to/python-with-torch \
LAVIT_TORCH=keep bash scripts/setup.sh (the venv is made with --system-site-packages), or point \
LAVIT_VENV at an environment that has torch; or leave LAVIT_TORCH unset to install the pinned torch (requirements/pinned.txt)."
  "$PY" -c 'import torchvision' 2>/dev/null || die "LAVIT_TORCH=keep: torch is there but \
torchvision is not importable from $PY (mmpretrain's transforms need it). Install the \
torchvision release paired with your torch (https://pytorch.org/get-started/previous-versions/) \
from the same index, with --no-deps so it cannot replace torch, then re-run."
  TORCH_BEFORE=$(torch_state)
  INFO=$("$PY" "$ROOT/scripts/setup_helpers.py" info) || exit 1
  read -r _ _ TORCH_V TORCHVISION_V <<< "$INFO"
  printf 'torch===%s\ntorchvision===%s\n' "$TORCH_V" "$TORCHVISION_V" | grep -v '===-$' > "$WORK/keep-torch.txt" || true
  PIN=(-c "$WORK/keep-torch.txt")
  grep -vE '^torch' "$ROOT/requirements/pinned.txt" > "$WORK/pinned-without-torch.txt"
  PINNED=$WORK/pinned-without-torch.txt
fi

pip_ install -q --upgrade "${PIN[@]}" pip "$SETUPTOOLS" wheel ninja

if [[ $TORCH_MODE == keep ]]; then
  log "keeping torch $TORCH_V + torchvision $TORCHVISION_V ($("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))'))"
else
  log "installing torch + torchvision (the standard registry pair)"
  pip_ install -q -r <(grep -E '^torch' "$ROOT/requirements/pinned.txt")
fi

# mmcv has no wheel for this torch: build it once from the sdist, with its ops, and cache the
# wheel under a key that includes the torch build, because pip's own wheel cache does not.
# Build isolation is off so the build sees the installed torch. With a GPU (or FORCE_CUDA=1
# and TORCH_CUDA_ARCH_LIST) the CUDA ops are compiled too, for the architectures of the
# visible devices only (torch.cuda.get_device_capability), which are part of the key: the
# CPU build's key stays py{maj}{min}-torch{version}-cpu (scripts/setup_helpers.py).
INFO=$("$PY" "$ROOT/scripts/setup_helpers.py" info) || exit 1
read -r KEY ARCHS _ _ <<< "$INFO"
WHEEL_DIR=$CACHE/mmcv-$MMCV_VERSION-$KEY
if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
  if [[ -n $WHEELHOUSE ]] && ! ls "$WHEELHOUSE/mmcv-$MMCV_VERSION".tar.gz >/dev/null 2>&1; then
    die "no cached mmcv wheel for $KEY in $CACHE and no mmcv-$MMCV_VERSION.tar.gz in $WHEELHOUSE"
  fi
  if [[ $ARCHS != - ]]; then
    CUDA_HOME_FOUND=$("$PY" -c 'from torch.utils.cpp_extension import CUDA_HOME; print(CUDA_HOME or "")')
    [[ -n $CUDA_HOME_FOUND && -x $CUDA_HOME_FOUND/bin/nvcc ]] || die "a GPU is visible but no \
CUDA toolkit (nvcc) was found to compile mmcv's CUDA ops: load the toolkit matching torch's CUDA \
$(cut -d- -f3 <<< "$KEY") (e.g. 'module load cuda/...') or set CUDA_HOME, then re-run."
    log "building mmcv $MMCV_VERSION with CUDA ops for $KEY: TORCH_CUDA_ARCH_LIST=$ARCHS, \
nvcc $("$CUDA_HOME_FOUND/bin/nvcc" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p') at $CUDA_HOME_FOUND, \
MAX_JOBS=${MAX_JOBS:-$(nproc)} (once per key)"
    export FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=$ARCHS
  else
    log "building mmcv $MMCV_VERSION with compiled ops for $KEY (about 15 min on 2 cores, once)"
  fi
  mkdir -p "$CACHE"
  TMP=$(mktemp -d "$CACHE/build.XXXXXX")
  # The venv's bin first on PATH: torch's extension builder runs `ninja` from PATH, and
  # without it compiles serially (MAX_JOBS unused); nodes seldom have a system ninja.
  PATH=$VENV/bin:$PATH MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
    pip_ wheel -q --no-deps --no-build-isolation --no-cache-dir \
    "mmcv==$MMCV_VERSION" -w "$TMP"
  rm -rf "$WHEEL_DIR" && mv "$TMP" "$WHEEL_DIR"
fi
pip_ install -q "${PIN[@]}" "$WHEEL_DIR"/mmcv-*.whl

log "installing the OpenMMLab toolboxes"
pip_ install -q "${PIN[@]}" -r "$PINNED" "$SETUPTOOLS"
# openmim without its dependency chain, then what its commands use.
pip_ install -q --no-deps -r <(grep -E '^openmim' "$ROOT/requirements/mim.txt")
pip_ install -q "${PIN[@]}" -r <(grep -vE '^(#|openmim)' "$ROOT/requirements/mim.txt")

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

"$PY" -c "$CHECK"$'\n'"$CUDA_CHECK"
if [[ $TORCH_MODE == keep ]]; then
  TORCH_AFTER=$(torch_state)
  [[ $TORCH_AFTER == "$TORCH_BEFORE" ]] || die "torch changed during the set-up: '$TORCH_BEFORE' -> '$TORCH_AFTER'"
  log "torch unchanged: $TORCH_AFTER"
fi
stamp_of_inputs > "$STAMP_FILE"
log "done in $(( $(date +%s) - T0 )) s; activate with: source $VENV/bin/activate"
