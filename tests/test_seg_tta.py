"""Segmentation test-time augmentation: the Semantic FPN configs' mmseg ``tta_model`` and
``tta_pipeline`` (scales 0.5-1.75, flip) merge exactly the averaged class probabilities of
the scaled and flipped views, each brought back to the image by mmseg's own post-processing."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from tests.helpers import local_data_options

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_tta_is_the_mean_probability_of_the_scaled_and_flipped_views(ade_root):
    import lavit_mm.models.seg  # noqa: F401  (lavit_mm.EncoderDecoder)
    from mmseg.registry import DATASETS, MODELS
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'demo', 'semfpn_lavit_t_synthetic.py'))
    cfg.merge_from_dict(local_data_options(ade_root))
    resizes = cfg.tta_pipeline[1].transforms[0]
    assert [t.scale_factor for t in resizes] == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.eval()
    tta = MODELS.build(dict(cfg.tta_model, module=model))

    def first_item(pipeline):
        dataset = DATASETS.build(dict(cfg.test_dataloader.dataset, pipeline=pipeline))
        return pseudo_collate([dataset[0]])

    with torch.no_grad():
        views = first_item(cfg.tta_pipeline)  # 6 scales x 2 flips
        merged = tta.test_step(views)[0]
        probs = []
        for inputs, samples in zip(views['inputs'], views['data_samples']):
            out = model.test_step(dict(inputs=inputs, data_samples=samples))[0]
            probs.append(out.seg_logits.data.softmax(0))  # back on the image, unflipped
        single = model.test_step(first_item(cfg.test_pipeline))[0]
    assert len(probs) == 12
    assert len({tuple(v[0].img_shape) for v in views['data_samples']}) == 6  # 6 sizes
    mean = torch.stack(probs).mean(0)  # (classes, H, W)
    assert mean.shape[1:] == merged.pred_sem_seg.data.shape[1:]
    assert torch.equal(merged.pred_sem_seg.data[0], mean.argmax(0))
    assert not torch.allclose(mean, single.seg_logits.data.softmax(0), atol=1e-3)
