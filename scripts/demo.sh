#!/usr/bin/env bash
# The demo: set up (if needed), write the embedded synthetic COCO set (if missing), train
# RetinaNet + FPN + LaViT-T from scratch on CPU through the mmengine Runner, and evaluate it
# with mmdet's CocoMetric (pycocotools). Prints the COCO bbox mAP at the end.
#   bash scripts/demo.sh [extra tools/train.py args, e.g. --cfg-options train_cfg.max_iters=100]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
PY=${LAVIT_VENV:-$ROOT/.venv}/bin/python
CONFIG=configs/demo/retinanet_lavit_t_synthetic.py
WORK_DIR=${WORK_DIR:-work_dirs/demo_retinanet_lavit_t}
"$PY" tools/make_synthetic_data.py --root data/synthetic_coco
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
"$PY" tools/summarize_run.py "$WORK_DIR"
