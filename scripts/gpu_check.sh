#!/usr/bin/env bash
# Every GPU measurement the README's "On GPUs" section asks for, in one run on a CUDA machine
# that already has its torch; logs and tables go to $OUT (default work_dirs/gpu_check).
#   PYTHON=/path/to/python-with-torch bash scripts/gpu_check.sh
#   STEPS="setup tests" bash scripts/gpu_check.sh      # a subset: setup tests demos bench
# setup: LAVIT_TORCH=keep bash scripts/setup.sh (keeps the machine's torch, builds mmcv's CUDA
#        ops for the GPUs present), timed;
# tests: the whole suite, GPU tests included (their names are listed in tests_gpu.txt);
# demos: the three demos with --amp (fp16 with loss scaling), timed;
# bench: tools/benchmark.py at 800x1333, batch 2, fp32/fp16/bf16, compiled and not, with the
#        whole-detector rows (RetinaNet+FPN) against mmdet's PVT-S, PVTv2-b2 and Swin-T.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-work_dirs/gpu_check}
STEPS=${STEPS:-setup tests demos bench}
mkdir -p "$OUT"
PY=${LAVIT_VENV:-$ROOT/.venv}/bin/python
step() { [[ " $STEPS " == *" $1 "* ]]; }
timed() {  # timed NAME CMD...: output to $OUT/NAME.log, seconds and exit status to times.txt
  local name=$1 start=$SECONDS rc=0; shift
  "$@" > "$OUT/$name.log" 2>&1 || rc=$?
  echo "$name: $((SECONDS - start)) s, exit $rc" | tee -a "$OUT/times.txt"
}
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >> "$OUT/nvidia-smi.txt"
if step setup; then
  LAVIT_TORCH=keep timed setup bash scripts/setup.sh
fi
"$PY" - > "$OUT/device.txt" 2>&1 <<'PY'
import torch, mmcv
from mmcv.ops import nms
print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'mmcv', mmcv.__version__)
print('device', torch.cuda.get_device_name(), 'capability', torch.cuda.get_device_capability())
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]], device='cuda')
print('mmcv.ops.nms on CUDA keeps', nms(boxes, torch.tensor([0.9, 0.8], device='cuda'), 0.5)[1].tolist())
PY
if step tests; then
  timed tests bash scripts/test.sh -rA -p no:cacheprovider
  grep -E '^(PASSED|FAILED|ERROR|SKIPPED)' "$OUT/tests.log" \
    | grep -Ei 'cuda|nccl|gpu|amp' > "$OUT/tests_gpu.txt" || true
  tail -1 "$OUT/tests.log" >> "$OUT/times.txt"
fi
if step demos; then
  for task in det seg cls; do
    WORK_DIR="$OUT/demo_$task" timed "demo_${task}_amp" bash scripts/demo.sh "$task" --amp
  done
fi
if step bench; then
  timed benchmark "$PY" tools/benchmark.py --shapes 800x1333 --batch 2 \
    --precision fp32 fp16 bf16 --compile --detector --out-dir "$OUT/benchmark"
fi
echo "written: $OUT/ (times.txt, device.txt, *.log, benchmark/benchmark.md)"
