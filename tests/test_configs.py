"""Every config file parses (inheritance and all) and its backbone builds, so a config that
only a long training would open cannot ship broken."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from lavit_mm.models.model_spec import build_backbone

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(osp.relpath(p, ROOT)
                 for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p)


def test_every_task_config_is_found():
    """The glob sees every family of configs the README lists (a moved folder fails here)."""
    families = {osp.dirname(p) for p in CONFIGS}
    assert families == {'configs', 'configs/demo', 'configs/drop_in', 'configs/small_data',
                        'configs/neon_trees',
                        'configs/experiments/neon_trees', 'configs/small_data/la_forms'}


@pytest.mark.parametrize('path', CONFIGS)
def test_config_backbone_feeds_its_neck_or_head(path):
    """Each config's backbone builds and its output channels are what the neck (FPN) or the
    classification head is configured to take."""
    cfg = Config.fromfile(osp.join(ROOT, path))
    backbone_cfg = cfg.model.backbone.to_dict()
    backbone_cfg.pop('init_cfg', None)  # pretrained files are not here
    backbone = build_backbone(backbone_cfg)
    backbone.eval()  # (mmdet's ResNet.train() returns None)
    with torch.no_grad():
        outs = backbone(torch.zeros(1, backbone_cfg.get('in_channels', 3), 64, 64))
    channels = [o.shape[1] for o in outs]
    neck = cfg.model.get('neck') or cfg.model.get('decode_head') or {}  # mmseg's UperNet
    if 'in_channels' in neck:
        assert channels == list(neck['in_channels']), path
    else:
        assert channels[-1] == cfg.model.head.in_channels, path


def test_toolbox_backbones_build_whatever_default_scope_is_set():
    """A config's 'mmpretrain.X' backbone builds in mmpretrain's registry even when another
    toolbox's default scope is current (as after any mmdet runner in the same process)."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = build_backbone(dict(type='mmpretrain.ResNet_CIFAR', depth=18, in_channels=1,
                                    out_indices=(3, )))
    assert type(model).__module__.startswith('mmpretrain.')
