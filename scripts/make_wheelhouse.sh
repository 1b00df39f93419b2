#!/usr/bin/env bash
# Collects everything scripts/setup.sh installs into one folder, for nodes without a package
# index (air-gapped clusters). Run it on a machine with an index, same OS and CPU type as the
# nodes (pip evaluates platform markers such as torch's nvidia-* ones on this machine):
#
#   bash scripts/make_wheelhouse.sh DIR [--python 3.12] [--platform manylinux_2_28_x86_64] [--with-torch]
#
# then, on the node (with the repository and DIR copied there):
#
#   LAVIT_WHEELHOUSE=DIR bash scripts/setup.sh                      # DIR made --with-torch
#   LAVIT_WHEELHOUSE=DIR LAVIT_TORCH=keep bash scripts/setup.sh     # the node's own torch
#
# DIR receives: wheels for the target Python and platform of every requirement
# (requirements/pinned.txt, without torch/torchvision unless --with-torch; requirements/mim.txt;
# pip, setuptools, wheel, ninja; mmcv's own dependencies) and their dependencies, resolved
# together; openmim's wheel without its dependency chain (as the set-up installs it); and
# mmcv 2.1.0 as its source archive, which the set-up compiles on the node (there is no mmcv
# wheel for current torch). lavit_mm itself is installed from the repository.
#
# Options:
#   --python X.Y   target Python (default: the version of $PYTHON, python3)
#   --platform P   target platform tag (default: manylinux_2_28_x86_64, that of torch 2.13's
#                  wheels); a manylinux_2_N tag also accepts wheels for older glibc
#   --with-torch   add torch + torchvision (the CUDA build from the registry, with its nvidia-*
#                  libraries: several GB) for nodes that have no torch of their own
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
MMCV_VERSION=2.1.0
log() { printf '[wheelhouse] %s\n' "$*"; }
die() { printf '[wheelhouse] error: %s\n' "$*" >&2; exit 1; }
usage() {
  echo "usage: bash scripts/make_wheelhouse.sh DIR [--python X.Y] [--platform TAG] [--with-torch]" >&2
  exit 2
}

DIR='' PYVER='' PLATFORM=manylinux_2_28_x86_64 WITH_TORCH=no
while (( $# )); do
  case $1 in
    --python) PYVER=${2:?--python needs a version such as 3.12}; shift 2 ;;
    --platform) PLATFORM=${2:?--platform needs a tag such as manylinux_2_28_x86_64}; shift 2 ;;
    --with-torch) WITH_TORCH=yes; shift ;;
    -h|--help) usage ;;
    -*) die "unknown option $1" ;;
    *) [[ -z $DIR ]] || usage; DIR=$1; shift ;;
  esac
done
[[ -n $DIR ]] || usage
[[ -n $PYVER ]] || PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
[[ $PYVER =~ ^3\.[0-9]+$ ]] || die "--python wants X.Y, got '$PYVER'"
ABI=cp${PYVER/./}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
T0=$(date +%s)

# pip, minus the notices about this machine's empty local index folders (as in setup.sh).
pip_() {
  "$PYTHON" -m pip --disable-pip-version-check "$@" 2>&1 | { grep -v "^WARNING: Location 'file:" || true; }
  return "${PIPESTATUS[0]}"
}
# The setuptools range is setup.sh's (one place to change it).
SETUPTOOLS=$(sed -n "s/^SETUPTOOLS='\(.*\)'$/\1/p" "$ROOT/scripts/setup.sh")
[[ -n $SETUPTOOLS ]] || die "could not read SETUPTOOLS from scripts/setup.sh"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# 1. mmcv's source archive. Even with --no-deps, pip runs its setup.py for the metadata, in
# an isolated build environment whose newest setuptools has no pkg_resources (which mmcv's
# setup.py imports): constrain the build environment to the set-up's setuptools range.
log "mmcv $MMCV_VERSION source archive"
echo "$SETUPTOOLS" > "$WORK/build-constraints.txt"
if "$PYTHON" -m pip download --help | grep -q -- '--build-constraint'; then
  pip_ download -q --no-deps --no-binary :all: --build-constraint "$WORK/build-constraints.txt" \
    -d "$DIR" "mmcv==$MMCV_VERSION"
else  # pip < 25.3: build environments follow PIP_CONSTRAINT
  PIP_CONSTRAINT=$WORK/build-constraints.txt \
    pip_ download -q --no-deps --no-binary :all: -d "$DIR" "mmcv==$MMCV_VERSION"
fi
SDIST=$DIR/mmcv-$MMCV_VERSION.tar.gz
[[ -f $SDIST ]] || die "pip did not leave $SDIST"

# 2. Everything else, resolved together for the target, as wheels only. mmcv's dependencies
# come from its own requirements/runtime.txt, plus opencv-python, which its setup.py adds.
{
  echo pip; echo "$SETUPTOOLS"; echo wheel; echo ninja
  if [[ $WITH_TORCH == yes ]]; then grep -vE '^\s*(#|$)' "$ROOT/requirements/pinned.txt"
  else grep -vE '^\s*(#|$)|^torch' "$ROOT/requirements/pinned.txt"; fi
  grep -vE '^\s*(#|$)|^openmim' "$ROOT/requirements/mim.txt"
  tar -xzOf "$SDIST" "mmcv-$MMCV_VERSION/requirements/runtime.txt"
  echo 'opencv-python>=3'
} > "$WORK/requirements.txt"
TARGET=(--only-binary=:all: --implementation cp --python-version "$PYVER" --abi "$ABI")
for p in $("$PYTHON" "$ROOT/scripts/setup_helpers.py" platforms "$PLATFORM"); do
  TARGET+=(--platform "$p")
done

log "wheels for cp${PYVER/./} $PLATFORM (torch: $WITH_TORCH)"
# A requirement published only as a source archive cannot be resolved with --only-binary:
# build its wheel here, and keep it if it is pure Python (runs anywhere), then resolve again
# (DIR is also a find-links location, so the resolver sees the new wheel). One with compiled
# code must be built on a node of the target platform: say so.
for attempt in $(seq 10); do
  if pip_ download -q "${TARGET[@]}" --find-links "$DIR" -d "$DIR" -r "$WORK/requirements.txt" \
       > "$WORK/pip.log"; then
    cat "$WORK/pip.log"; break
  fi
  cat "$WORK/pip.log"
  missing=$(sed -n 's/^ERROR: No matching distribution found for \(.*\)$/\1/p' "$WORK/pip.log" | head -1)
  [[ -n $missing && $attempt -lt 10 ]] || die "pip download failed (see above)"
  log "no wheel for '$missing' for the target: building one from its source archive"
  rm -rf "$WORK/sdist-wheel"
  pip_ wheel -q --no-deps --no-binary :all: -w "$WORK/sdist-wheel" "$missing"
  built=$(ls "$WORK/sdist-wheel"/*.whl)
  [[ $built == *-none-any.whl ]] \
    || die "'$missing' has compiled code and no wheel for cp${PYVER/./} $PLATFORM: run 'pip wheel $missing -w $DIR' on a node of that platform, then this script again"
  mv "$built" "$DIR/"
done

# 3. openmim as the set-up installs it: without its dependency chain.
pip_ download -q "${TARGET[@]}" --no-deps -d "$DIR" -r <(grep -E '^openmim' "$ROOT/requirements/mim.txt")

# What was made, for setup.sh's checks and for people.
cat > "$DIR/lavit_wheelhouse.txt" <<EOF
python=$PYVER
platform=$PLATFORM
with_torch=$WITH_TORCH
mmcv_sdist=$(basename "$SDIST")
made=$(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m) by $("$PYTHON" -m pip --version | cut -d' ' -f1-2)
EOF
log "$(ls "$DIR" | grep -c '\.whl$') wheels + $(basename "$SDIST"), $(du -sh "$DIR" | cut -f1) in $DIR ($(( $(date +%s) - T0 )) s)"
log "on the node: LAVIT_WHEELHOUSE=$DIR bash scripts/setup.sh$([[ $WITH_TORCH == yes ]] || echo '   (with LAVIT_TORCH=keep: this folder has no torch)')"
