#!/usr/bin/env bash
# The demo: set up (if needed), write the embedded synthetic set (if missing), train from
# scratch on CPU through the mmengine Runner, and evaluate with the toolbox's evaluator.
#   bash scripts/demo.sh            # detection: RetinaNet + FPN + LaViT-T, COCO bbox mAP
#   bash scripts/demo.sh seg        # segmentation: Semantic FPN + LaViT-T, mIoU
#   bash scripts/demo.sh cls        # classification: LaViT-T, top-1
# Extra arguments go to tools/train.py, e.g. --cfg-options train_cfg.max_iters=100
# Beside the metrics it writes, in the work dir: curves.png (training loss and validation
# metric over iterations) and predictions/ (the validation images with the predictions drawn
# by the toolbox's visualizer, from tools/test.py --show-dir on the last checkpoint).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
TASK=det
if [[ $# -gt 0 && $1 != -* ]]; then TASK=$1; shift; fi
case $TASK in
  det) CONFIG=configs/demo/retinanet_lavit_t_synthetic.py ;;
  seg) CONFIG=configs/demo/semfpn_lavit_t_synthetic.py ;;
  cls) CONFIG=configs/demo/lavit_t_synthetic_cls.py ;;
  *) echo "unknown task '$TASK': use det, seg or cls" >&2; exit 2 ;;
esac
bash scripts/setup.sh
PY=${LAVIT_VENV:-$ROOT/.venv}/bin/python
WORK_DIR=${WORK_DIR:-work_dirs/demo_$TASK}
"$PY" tools/make_synthetic_data.py --task "$TASK"
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
"$PY" tools/summarize_run.py "$WORK_DIR" --plot "$WORK_DIR/curves.png"
"$PY" tools/test.py "$CONFIG" "$(cat "$WORK_DIR/last_checkpoint")" --work-dir "$WORK_DIR/test" \
  --show-dir "$WORK_DIR/predictions" > "$WORK_DIR/test.log" 2>&1 \
  || { tail -20 "$WORK_DIR/test.log"; exit 1; }
echo "drawn predictions: $WORK_DIR/predictions/ (tools/test.py --show-dir)"
