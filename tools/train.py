"""Train a detector, segmentor or classifier from a config (the flags of mmdet's train.py)."""
from lavit_mm.apis.train import main

if __name__ == '__main__':
    main()
