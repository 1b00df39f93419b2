"""Config overrides shared by the tests that run the demo configs on small local sets."""


def local_data_options(root: str, coco_ann: bool = False) -> dict:
    """Point every dataloader at ``root`` and load in the test's own process (no workers);
    with ``coco_ann``, point the COCO evaluators at the set's val annotations too."""
    opts = {}
    for split in ('train', 'val', 'test'):
        opts.update({f'{split}_dataloader.dataset.data_root': root,
                     f'{split}_dataloader.num_workers': 0,
                     f'{split}_dataloader.persistent_workers': False})
    if coco_ann:
        for split in ('val', 'test'):
            opts[f'{split}_evaluator.ann_file'] = root + 'annotations/instances_val2017.json'
    return opts
