"""Evaluate a checkpoint: COCO AP (detection), mIoU (segmentation) or top-1 (classification),
with the evaluator the config names."""
from lavit_mm.apis.test import main

if __name__ == '__main__':
    main()
