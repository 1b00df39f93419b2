"""Small embedded datasets shared by the tests that run the real toolboxes."""
import pytest

from lavit_mm.datasets import make_synthetic_ade, make_synthetic_coco, make_synthetic_imagenet


@pytest.fixture(scope='session')
def coco_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_coco')
    return str(make_synthetic_coco(str(root), num_train=8, num_val=4, image_size=(128, 160),
                                   seed=3)) + '/'


@pytest.fixture(scope='session')
def ade_root(tmp_path_factory):
    return make_synthetic_ade(str(tmp_path_factory.mktemp('ade')), num_train=8, num_val=4,
                              image_size=(64, 96), seed=5)


@pytest.fixture(scope='session')
def imagenet_root(tmp_path_factory):
    return make_synthetic_imagenet(str(tmp_path_factory.mktemp('imagenet')),
                                   num_train_per_class=4, num_val_per_class=2,
                                   image_size=(48, 48), seed=5)
