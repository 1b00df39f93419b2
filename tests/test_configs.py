"""Every config file parses (inheritance and all) and its backbone builds, so a config that
only a long training would open cannot ship broken."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from lavit_mm.analysis.benchmark import build_backbone

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(osp.relpath(p, ROOT) for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'),
                                                          recursive=True)
                 if '_base_' not in p)


def test_configs_are_found():
    assert len(CONFIGS) >= 20 and 'configs/demo/lavit_s_lite_synthetic_cls.py' in CONFIGS


@pytest.mark.parametrize('path', CONFIGS)
def test_config_parses_and_its_backbone_builds(path):
    cfg = Config.fromfile(osp.join(ROOT, path))
    backbone_cfg = cfg.model.backbone.to_dict()
    backbone_cfg.pop('init_cfg', None)  # pretrained files are not here
    backbone = build_backbone(backbone_cfg)
    assert backbone.out_indices, path
