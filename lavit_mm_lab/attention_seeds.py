"""The attention analysis over seeds: rows of ``similarity_rows`` (or the CSV
``tools/analyze_attention.py`` writes) for models labelled ``NAME/SEED`` -> per model and
layer, the mean and sample standard deviation over seeds of the adjacent-layer similarity
(DeepViT's curve: layer l-1 against layer l) and of the attention entropy / uniform.
"""
import math
from collections import defaultdict
from typing import Dict, Iterable, List

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _mean_std(values: List[float]):
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if len(values) > 1 else float('nan')
    return mean, std


def summarize_over_seeds(rows: Iterable[Dict]) -> List[Dict]:
    """One row per model (the label before the last '/'), stage and layer l: ``adjacent``
    (similarity of l-1 and l; None for a stage's first layer) and ``entropy`` as (mean, std)
    over the seeds, ``seeds`` (their labels) and ``kind`` (VA/LA) of layer l. Refuses a model
    whose seeds disagree on the layers (different architectures under one name)."""
    values = defaultdict(lambda: defaultdict(list))  # (model, stage, layer) -> measure -> [v]
    kinds, seeds = {}, defaultdict(set)
    for r in rows:
        name, sep, seed = str(r['model']).rpartition('/')
        if not sep:
            raise ValueError(f"model label {r['model']!r}: name it NAME/SEED (e.g. ViT-18/0) "
                             f"to group seeds")
        stage, layer = int(r['stage']), int(r['layer'])
        seeds[name].add(seed)
        if r['measure'] == 'cross_layer' and int(r['other_layer']) == layer + 1:
            key = (name, stage, layer + 1)
            values[key]['adjacent'].append(float(r['value']))
            kinds[key] = r['other_kind']
        elif r['measure'] == 'entropy_ratio':
            values[(name, stage, layer)]['entropy'].append(float(r['value']))
            kinds[(name, stage, layer)] = r['kind']
    out = []
    for key in sorted(values, key=lambda k: (list(seeds).index(k[0]), k[1], k[2])):
        name, stage, layer = key
        n = len(seeds[name])
        for measure, vals in values[key].items():
            if len(vals) != n:
                raise ValueError(f'{name}: stage {stage} layer {layer} has {measure} for '
                                 f'{len(vals)} of its {n} seeds: are they the same model?')
        entropy = values[key].get('entropy')
        adjacent = values[key].get('adjacent')
        out.append(dict(model=name, stage=stage, layer=layer, kind=kinds[key],
                        seeds=sorted(seeds[name]),
                        adjacent=_mean_std(adjacent) if adjacent else None,
                        entropy=_mean_std(entropy) if entropy else None))
    return out


def plot_adjacent_over_seeds(summary: List[Dict], path: str, stage: int = 1) -> None:
    """Adjacent-layer similarity along the depth of ``stage``: one line per model (the mean
    over seeds) with a band of one standard deviation; LA layers marked with a cross."""
    fig = Figure(figsize=(6.4, 3.6))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for name in dict.fromkeys(r['model'] for r in summary):
        mine = [r for r in summary if r['model'] == name and r['stage'] == stage
                and r['adjacent'] is not None]
        xs = np.array([r['layer'] for r in mine])
        mean = np.array([r['adjacent'][0] for r in mine])
        std = np.array([0. if math.isnan(r['adjacent'][1]) else r['adjacent'][1]
                        for r in mine])
        line, = ax.plot(xs, mean, marker='o', ms=3,
                        label=f"{name} ({len(mine[0]['seeds'])} seeds)")
        ax.fill_between(xs, mean - std, mean + std, alpha=0.2, color=line.get_color())
        la = np.array([r['kind'] == 'LA' for r in mine])
        if la.any():
            ax.scatter(xs[la], mean[la], marker='x', s=70, color=line.get_color())
    ax.set_xlabel('layer l (x: LA layer)')
    ax.set_ylabel('similarity(l-1, l)')
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches='tight')


def summary_markdown(summary: List[Dict], layers: Iterable[int], stage: int = 1) -> str:
    """A table: per model, the adjacent-layer similarity and entropy ratio (mean ± std over
    seeds) of the chosen layers of ``stage``."""
    layers = list(layers)
    head = ('| model | seeds | ' + ' | '.join(f'sim({n - 1},{n})' for n in layers) + ' | '
            + ' | '.join(f'entropy {n}' for n in layers) + ' |')
    lines = [head, '|' + '---|' * (2 + 2 * len(layers))]
    for name in dict.fromkeys(r['model'] for r in summary):
        by_layer = {r['layer']: r for r in summary if r['model'] == name and r['stage'] == stage}
        cells = []
        for measure in ('adjacent', 'entropy'):
            for n in layers:
                v = by_layer.get(n, {}).get(measure)
                cells.append('-' if v is None else f'{v[0]:.2f} ± {v[1]:.2f}'
                             + ('*' if by_layer[n]['kind'] == 'LA' else ''))
        seeds = next(iter(by_layer.values()))['seeds']
        lines.append(f"| {name} | {' '.join(seeds)} | " + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n(* = layer l is LA)'
