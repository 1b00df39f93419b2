"""PNG figures of the attention analysis (``attention.py``): heatmaps, curves, overlays.

Each figure puts the analysed models side by side (one column per model), so a LaViT and its
PVT baseline are compared on one page. Figures are drawn on matplotlib's Agg canvas directly,
so importing this module leaves the process's pyplot backend alone.
"""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .attention import (LayerAttention, cross_head_similarity, cross_layer_similarity,
                        query_attention_map)

Analysed = Dict[str, List[List[LayerAttention]]]  # model name -> per stage -> layers


def _figure(size: Tuple[float, float]) -> Figure:
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def _labels(layers: Sequence[LayerAttention]) -> List[str]:
    return [f'{a.layer + 1}{a.kind}' for a in layers]


def plot_cross_layer_heatmaps(analysed: Analysed, path: str) -> None:
    """One L x L heatmap per stage (rows) and model (columns)."""
    names = list(analysed)
    stages = max(len(s) for s in analysed.values())
    fig = _figure((3.6 * len(names), 3.2 * stages))
    axes = fig.subplots(stages, len(names), squeeze=False)
    for c, name in enumerate(names):
        for r in range(stages):
            ax = axes[r][c]
            layers = analysed[name][r] if r < len(analysed[name]) else []
            if not layers:
                ax.axis('off')
                continue
            sim = cross_layer_similarity(layers).numpy()
            im = ax.imshow(sim, vmin=0, vmax=1, cmap='viridis')
            ticks = _labels(layers)
            ax.set_xticks(range(len(ticks)), ticks, fontsize=7, rotation=90)
            ax.set_yticks(range(len(ticks)), ticks, fontsize=7)
            for i in range(len(ticks)):
                for j in range(len(ticks)):
                    ax.text(j, i, f'{sim[i, j]:.2f}', ha='center', va='center', fontsize=6,
                            color='white' if sim[i, j] < 0.6 else 'black')
            ax.set_title(f'{name}: stage {r + 1}', fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.6, label='cross-layer cosine similarity')
    fig.savefig(path, dpi=110, bbox_inches='tight')


def plot_similarity_curves(analysed: Analysed, path: str) -> None:
    """DeepViT's curve: similarity of each layer with the next one, along the depth of each
    stage; one panel per stage, one line per model; LA layers marked with a cross."""
    stages = max(len(s) for s in analysed.values())
    fig = _figure((3.4 * stages, 3.0))
    axes = fig.subplots(1, stages, squeeze=False)
    for r in range(stages):
        ax = axes[0][r]
        for name, per_stage in analysed.items():
            layers = per_stage[r] if r < len(per_stage) else []
            if len(layers) < 2:
                continue
            sim = cross_layer_similarity(layers)
            xs = np.arange(2, len(layers) + 1)
            ys = [float(sim[i - 1, i]) for i in range(1, len(layers))]
            line, = ax.plot(xs, ys, marker='o', label=name)
            la = [k for k, a in enumerate(layers[1:]) if a.kind == 'LA']
            ax.scatter(xs[la], np.array(ys)[la], marker='x', s=80, color=line.get_color())
        ax.set_title(f'stage {r + 1}', fontsize=9)
        ax.set_xlabel('layer l (x: LA layer)', fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('similarity(l-1, l)', fontsize=8)
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches='tight')


def plot_head_similarity(analysed: Analysed, path: str) -> None:
    """Per model: the mean cross-head similarity of every layer (bars, by stage) and the
    h x h head-similarity heatmap of the last layer of the last stage."""
    names = list(analysed)
    fig = _figure((4.2 * len(names), 6.4))
    axes = fig.subplots(2, len(names), squeeze=False)
    for c, name in enumerate(names):
        labels, values, colors = [], [], []
        for layers in analysed[name]:
            for a in layers:
                sim = cross_head_similarity(a)
                h = sim.shape[0]
                if h < 2:
                    continue
                labels.append(f's{a.stage + 1}.{a.layer + 1}')
                values.append(float((sim.sum() - h) / (h * (h - 1))))
                colors.append('tab:orange' if a.kind == 'LA' else 'tab:blue')
        ax = axes[0][c]
        ax.bar(range(len(values)), values, color=colors)
        ax.set_xticks(range(len(labels)), labels, fontsize=6, rotation=90)
        ax.set_ylim(0, 1)
        ax.set_title(f'{name}: mean cross-head similarity\n(blue VA, orange LA; stage 1 has '
                     f'one head)', fontsize=8)
        last = analysed[name][-1][-1]
        sim = cross_head_similarity(last).numpy()
        im = axes[1][c].imshow(sim, vmin=0, vmax=1, cmap='viridis')
        axes[1][c].set_title(f'{name}: heads of stage {last.stage + 1} layer {last.layer + 1} '
                             f'({last.kind})', fontsize=8)
    fig.colorbar(im, ax=axes[1].tolist(), shrink=0.7)
    fig.savefig(path, dpi=110, bbox_inches='tight')


def plot_overlays(image: np.ndarray, analysed: Analysed, points: Sequence[Tuple[float, float]],
                  path: str, sample: int = 0) -> None:
    """For each model (rows) and stage (columns), the head-averaged attention of the last
    layer of the stage for each query point, upsampled and overlaid on the image (RGB uint8).
    The query points are drawn as white crosses."""
    names = list(analysed)
    stages = max(len(s) for s in analysed.values())
    H, W = image.shape[:2]
    fig = _figure((3.2 * stages, 3.0 * len(names)))
    axes = fig.subplots(len(names), stages, squeeze=False)
    for r, name in enumerate(names):
        for c in range(stages):
            ax = axes[r][c]
            ax.imshow(image)
            ax.axis('off')
            layers = analysed[name][c] if c < len(analysed[name]) else []
            if not layers:
                continue
            layer = layers[-1]
            total = torch.zeros(H, W)
            for point in points:
                att = query_attention_map(layer, point, sample)  # key grid
                att = F.interpolate(att[None, None], size=(H, W), mode='nearest')[0, 0]
                total = torch.maximum(total, att / att.max().clamp_min(1e-12))
            ax.imshow(total.numpy(), cmap='jet', alpha=0.5, vmin=0, vmax=1)
            for y, x in points:
                ax.plot(x * W, y * H, 'w+', markersize=10, markeredgewidth=2)
            ax.set_title(f'{name}: stage {c + 1} layer {layer.layer + 1} ({layer.kind})',
                         fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches='tight')
