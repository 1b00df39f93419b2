"""The lavit_mm scope: reachable from every toolbox's registry, imports nothing it needs not."""
import subprocess
import sys

import pytest

CHECK_DET = r'''
import sys
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
register_all_modules()  # mmdet itself imports mmpretrain here, if installed
before = {m for m in ('mmseg', 'mmpretrain') if m in sys.modules}
import lavit_mm
backbone = MODELS.build(dict(type='lavit_mm.LaViT', arch='tiny'))
assert type(backbone).__module__ == 'lavit_mm.models.backbones.lavit', type(backbone)
# mmdet's own PVT/Swin are untouched by ours
from mmdet.models.backbones import PyramidVisionTransformer, SwinTransformer
assert MODELS.get('PyramidVisionTransformer') is PyramidVisionTransformer
assert MODELS.get('SwinTransformer') is SwinTransformer
assert MODELS.get('lavit_mm.PVT').__module__ == 'lavit_mm.models.backbones.pvt'
bad = {m for m in ('mmseg', 'mmpretrain') if m in sys.modules} - before
assert not bad, bad
print('ok')
'''

CHECK_IMPORT = r'''
import sys
import lavit_mm
from mmengine.registry import MODELS
m = MODELS.build(dict(type='lavit_mm.LaViT', arch='tiny'))
bad = [m for m in ('mmdet', 'mmseg', 'mmpretrain') if m in sys.modules]
assert not bad, bad
print('ok')
'''


@pytest.mark.parametrize('code', [CHECK_DET, CHECK_IMPORT], ids=['mmdet', 'bare'])
def test_scope_resolves_without_importing_other_toolboxes(code):
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().endswith('ok'), out.stderr[-2000:]
