"""RetinaNet + FPN + LaViT through the real mmdet/mmengine stack: registry, dataset, a short
Runner training (also on images without annotations), and COCO evaluation with
pycocotools."""
import json
import math
import pickle
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config
from PIL import Image

from lavit_mm.apis import build_runner
from lavit_mm.datasets import make_synthetic_coco
from lavit_mm.datasets.synthetic_coco import CLASSES
from tests.helpers import demo_cfg, local_data_options

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'demo', 'retinanet_lavit_t_synthetic.py')
pytestmark = pytest.mark.slow


def test_synthetic_set_is_exact_coco_layout(coco_root):
    from mmdet.datasets import CocoDataset
    from pycocotools.coco import COCO
    ann = json.load(open(osp.join(coco_root, 'annotations', 'instances_train2017.json')))
    assert [c['name'] for c in ann['categories']] == list(CLASSES)
    areas = [a['area'] for a in ann['annotations']]
    assert min(areas) < 32 ** 2 and max(areas) > 96 ** 2  # small and large objects
    assert all(len(a['segmentation'][0]) >= 6 for a in ann['annotations'])  # polygons
    coco = COCO(osp.join(coco_root, 'annotations', 'instances_train2017.json'))
    assert len(coco.getImgIds()) == 8
    ds = CocoDataset(data_root=coco_root, ann_file='annotations/instances_train2017.json',
                     data_prefix=dict(img='train2017/'), metainfo=dict(classes=CLASSES),
                     pipeline=[])
    item = ds[0]
    assert osp.isfile(item['img_path']) and len(item['instances']) >= 1
    assert set(item['instances'][0]) >= {'bbox', 'bbox_label', 'mask'}
    # idempotent: a second call with the same arguments writes nothing new
    stamp = osp.getmtime(osp.join(coco_root, 'annotations', 'instances_train2017.json'))
    make_synthetic_coco(coco_root, num_train=8, num_val=4, image_size=(128, 160), seed=3)
    assert osp.getmtime(osp.join(coco_root, 'annotations', 'instances_train2017.json')) == stamp


CONFIGS = {  # config: (backbone class, arch depths, FPN inputs, FPN start level)
    'retinanet_lavit_t': ('LaViT', [2, 3, 2, 1], [64, 128, 320, 512], 1),
    'retinanet_pvtv2_b2': ('PVTv2', [3, 4, 6, 3], [64, 128, 320, 512], 1),
    'retinanet_lavit_s': ('LaViT', [3, 4, 6, 3], [64, 128, 320, 512], 1),
    'retinanet_lavit_b': ('LaViT', [3, 4, 18, 3], [64, 128, 320, 512], 1),
    'retinanet_pvt_s': ('PVT', [3, 4, 6, 3], [64, 128, 320, 512], 1),
    'retinanet_swin_t': ('Swin', [2, 2, 6, 2], [192, 384, 768], 0),
    'retinanet_lavit_swin_t': ('LaViT', [2, 2, 6, 2], [192, 384, 768], 0),
}


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_coco_configs_build_through_mmdet_registry(name):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', f'{name}.py'))
    assert cfg.train_dataloader.dataset.data_root == 'data/coco/'
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0
    assert cfg.train_cfg.max_epochs == 12
    kind, depths, fpn_in, start = CONFIGS[name]
    assert cfg.model.neck.in_channels == fpn_in and cfg.model.neck.start_level == start
    model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == kind
    assert model.backbone.arch['depths'] == depths
    if kind == 'LaViT':
        assert type(model).__module__ == 'lavit_mm.models.det'
        assert {'theta', 'psi'} <= set(cfg.optim_wrapper.paramwise_cfg.custom_keys)
    # one loss step on a small batch: the detector's losses, plus loss_dp for LaViT
    model.init_weights()
    data = model.data_preprocessor(_fake_batch(), True)
    losses = model(**data, mode='loss')
    assert {'loss_cls', 'loss_bbox'} <= set(losses)
    assert ('loss_dp' in losses) == (kind == 'LaViT')


def test_stock_retinanet_dropping_loss_dp_is_refused_by_name():
    """mmdet's own RetinaNet never collects the backbone's loss_dp: the second training step
    refuses, naming our task model and the weight that turns the loss off; with
    less_attention.dp_loss.weight=0 the stock detector trains."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'retinanet_lavit_t.py'))
    cfg.model.type = 'RetinaNet'  # mmdet's, not lavit_mm's
    narrow = dict(embed_dims=[16, 32, 32, 32], num_heads=[1, 1, 1, 1], mlp_ratios=[1, 1, 1, 1],
                  sr_ratios=[4, 2, 1, 1], depths=[2, 2, 2, 2], num_va=[1, 1, 1, 1])
    cfg.model.backbone.arch = narrow
    cfg.model.neck.in_channels = [16, 32, 32, 32]
    model = MODELS.build(cfg.model)
    assert type(model).__module__.startswith('mmdet.')
    data = model.data_preprocessor(_fake_batch(), True)
    assert 'loss_dp' not in model(**data, mode='loss')  # computed by the backbone, dropped
    with pytest.raises(RuntimeError, match=r"loss_dp .*never collected.*lavit_mm\.RetinaNet"
                                           r".*less_attention.dp_loss.weight=0"):
        model(**data, mode='loss')
    cfg.model.backbone.less_attention = dict(dp_loss=dict(weight=0.))
    model = MODELS.build(cfg.model)
    for _ in range(2):
        assert {'loss_cls', 'loss_bbox'} == set(model(**data, mode='loss'))


def _rows_sorted(boxes: torch.Tensor, scores: torch.Tensor, above: float) -> torch.Tensor:
    """The boxes scored above ``above`` as (score to 1e-4, x1, y1, x2, y2) rows in
    lexicographic order: a box list as a set."""
    keep = scores > above
    rows = torch.cat([scores[keep].round(decimals=4)[:, None], boxes[keep]], 1).double()
    for col in reversed(range(rows.shape[1])):  # stable sorts, last key first
        rows = rows[rows[:, col].argsort(stable=True)]
    return rows


def _fake_batch():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    samples = []
    for _ in range(2):
        s = DetDataSample(metainfo=dict(img_shape=(96, 128), pad_shape=(96, 128),
                                        batch_input_shape=(96, 128)))
        s.gt_instances = InstanceData(bboxes=torch.tensor([[10., 20., 50., 70.]]),
                                      labels=torch.tensor([3]))
        samples.append(s)
    return dict(inputs=[torch.randint(0, 255, (3, 96, 128), dtype=torch.uint8)] * 2,
                data_samples=samples)


def _demo_cfg(coco_root, work_dir, **overrides):
    cfg = Config.fromfile(DEMO)
    opts = {**local_data_options(coco_root, coco_ann=True),
            'train_dataloader.batch_size': 4, 'work_dir': str(work_dir)}
    opts.update(overrides)
    cfg.merge_from_dict(opts)
    return cfg


def test_short_training_run_loss_finite_and_decreasing(coco_root, tmp_path):
    from lavit_mm.apis import build_runner
    cfg = _demo_cfg(coco_root, tmp_path, **{
        'train_cfg.max_iters': 16, 'train_cfg.val_interval': 1000,
        'train_dataloader.dataset.pipeline.2.scale': (128, 128),  # a quarter of the demo's
        'param_scheduler': [dict(type='ConstantLR', factor=1.0, by_epoch=False)],
        'optim_wrapper.optimizer.lr': 1e-3,
        'default_hooks.logger.interval': 1, 'log_processor.window_size': 1,
        'default_hooks.checkpoint.interval': 1000})
    runner = build_runner(cfg, 'train')
    runner.train()
    hub = runner.message_hub
    losses = [float(v) for v in hub.get_scalar('train/loss').data[0]]
    dp = [float(v) for v in hub.get_scalar('train/loss_dp').data[0]]
    assert len(losses) == 16 and all(math.isfinite(v) for v in losses)
    # loss_dp reaches the log, every step (a positive loss: attention is not yet dominant)
    assert len(dp) == 16 and all(math.isfinite(v) and v > 0 for v in dp)
    first, last = sum(losses[:4]) / 4, sum(losses[-4:]) / 4
    assert last < 0.9 * first, losses


def test_coco_metric_evaluates_predictions(coco_root):
    """mmdet's CocoMetric (pycocotools) on the synthetic val set: ground truth as predictions
    scores mAP 1, shifted boxes score less."""
    from mmdet.evaluation import CocoMetric
    from pycocotools.coco import COCO
    ann_file = coco_root + 'annotations/instances_val2017.json'
    coco = COCO(ann_file)

    def run(shift):
        metric = CocoMetric(ann_file=ann_file, metric='bbox')
        metric.dataset_meta = dict(classes=CLASSES)
        for img_id in coco.getImgIds():
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
            boxes = torch.tensor([[a['bbox'][0] + shift, a['bbox'][1],
                                   a['bbox'][0] + a['bbox'][2] + shift,
                                   a['bbox'][1] + a['bbox'][3]] for a in anns])
            labels = torch.tensor([a['category_id'] - 1 for a in anns])
            metric.process({}, [dict(img_id=img_id, ori_shape=(128, 160), pred_instances=dict(
                bboxes=boxes, scores=torch.ones(len(anns)), labels=labels))])
        return metric.evaluate(len(coco.getImgIds()))['coco/bbox_mAP']

    assert run(0.) == pytest.approx(1.0)
    assert run(6.) < 0.9


def test_train_then_test_tool_reports_bbox_map(coco_root, tmp_path, monkeypatch):
    """A checkpoint written by training is evaluated by the test path (tools/test.py's),
    which also draws the predictions (--show-dir)."""
    from lavit_mm.apis import build_runner, dump_predictions, enable_prediction_drawing
    # a 2-iteration model scores below mmdet's 0.05 threshold: keep every box for the metric
    cfg = _demo_cfg(coco_root, tmp_path, **{
        'train_cfg.max_iters': 2, 'train_cfg.val_interval': 2,
        'default_hooks.checkpoint.interval': 2, 'model.test_cfg.score_thr': 0.0})
    runner = build_runner(cfg, 'train')
    runner.train()
    val_map = runner.message_hub.get_scalar('val/coco/bbox_mAP').current()
    ckpt = tmp_path / 'iter_2.pth'
    assert ckpt.is_file()
    cfg = _demo_cfg(coco_root, tmp_path / 'test', **{'model.test_cfg.score_thr': 0.0})
    enable_prediction_drawing(cfg, str(tmp_path / 'shown'))  # tools/test.py --show-dir
    dump_predictions(cfg, str(tmp_path / 'raw.pkl'))  # tools/test.py --out
    # what tools/test.py does for the user's own checkpoint (scoped to this test)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    metrics = build_runner(cfg, 'test', checkpoint=str(ckpt)).test()
    assert metrics['coco/bbox_mAP'] == pytest.approx(val_map)  # the same model, two paths
    # one picture per val image: ground truth and predictions side by side
    shown = sorted((tmp_path / 'shown').glob('*.jpg'))
    assert len(shown) == 4
    assert Image.open(shown[0]).size == (2 * 160, 128)
    raw = pickle.load(open(tmp_path / 'raw.pkl', 'rb'))  # one record per val image
    val = json.load(open(coco_root + 'annotations/instances_val2017.json'))
    assert sorted(r['img_id'] for r in raw) == sorted(i['id'] for i in val['images'])
    assert all(len(r['pred_instances']['bboxes']) == len(r['pred_instances']['scores'])
               for r in raw)
    assert {'coco/bbox_mAP_50', 'coco/bbox_mAP_s', 'coco/bbox_mAP_l'} <= set(metrics)
    # the Inferencer round trip (tools/image_demo.py): the same boxes as --out
    from lavit_mm.apis import infer_images
    paths = sorted(osp.join(coco_root, 'val2017', i['file_name']) for i in val['images'])
    cfg = _demo_cfg(coco_root, tmp_path / 'inf', **{'model.test_cfg.score_thr': 0.0})
    preds = infer_images(cfg, str(ckpt), paths, str(tmp_path / 'inferred'))
    by_path = {r['img_path']: r['pred_instances'] for r in raw}
    for path, pred in zip(paths, preds):
        expected = by_path[path]
        # as sets: a 2-iteration model scores many boxes alike, so boxes of equal score come
        # in either order from the two paths' sorts, and which of those tied at the 100-box
        # cut are kept is arbitrary: compare the boxes scored above the cut
        got, want = pred.pred_instances, expected
        assert torch.allclose(got.scores.sort().values, want['scores'].sort().values, atol=1e-5)
        cut = float(want['scores'].min()) + 1e-4
        above = _rows_sorted(got.bboxes, got.scores, cut)
        assert len(above) > 10
        assert torch.allclose(above, _rows_sorted(want['bboxes'], want['scores'], cut),
                              atol=1e-3)
    assert len(list((tmp_path / 'inferred' / 'vis').glob('*.jpg'))) == len(paths)
    # --tta: mmdet's flip TTA merges the two views' boxes
    from lavit_mm.apis import enable_tta
    cfg = _demo_cfg(coco_root, tmp_path / 'tta', **{'model.test_cfg.score_thr': 0.0})
    enable_tta(cfg)
    assert cfg.model.type == 'DetTTAModel'
    tta = build_runner(cfg, 'test', checkpoint=str(ckpt)).test()
    assert 'coco/bbox_mAP' in tta


def test_missing_data_root_is_named(tmp_path):
    from lavit_mm.apis import build_runner
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'retinanet_lavit_t.py'))
    cfg.merge_from_dict({'train_dataloader.dataset.data_root': str(tmp_path / 'nope') + '/',
                         'work_dir': str(tmp_path)})
    with pytest.raises(FileNotFoundError, match=r"train_dataloader: data_root .*nope.* "
                       r"--cfg-options train_dataloader.dataset.data_root="):
        build_runner(cfg, 'train')


@pytest.mark.slow
def test_images_without_annotations_train(coco_root, tmp_path):
    """COCO images with no objects: kept when filter_empty_gt=False, and the detector
    trains on them (RetinaNet's losses are all negatives there)."""
    root = tmp_path / 'coco'
    shutil.copytree(coco_root, root)
    ann_file = root / 'annotations' / 'instances_train2017.json'
    ann = json.load(open(ann_file))
    emptied = {img['id'] for img in ann['images'][:4]}
    ann['annotations'] = [a for a in ann['annotations'] if a['image_id'] not in emptied]
    json.dump(ann, open(ann_file, 'w'))
    cfg = demo_cfg('det', str(root) + '/', tmp_path / 'work', **{
        'train_dataloader.dataset.filter_cfg.filter_empty_gt': False,
        'train_dataloader.batch_size': 4, 'train_dataloader.sampler.shuffle': False,
        'train_cfg.max_iters': 2})  # the empty images' batch, then the annotated one
    runner = build_runner(cfg, 'train')
    assert len(runner.train_dataloader.dataset) == 8
    runner.train()
    losses = [float(v) for v in runner.message_hub.get_scalar('train/loss').data[0]]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
