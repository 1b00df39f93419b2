"""The Less-Attention forms experiment (docs/results.md, "Less-Attention forms"): per model and
form, the top-1 over seeds and what its LA layers do (adjacent-layer similarity, entropy),
and the default-form rule written down before the runs.

Runs are named ``<model>_<transform>_<init>_<dp>_fashion_mnist`` (the configs of
``configs/small_data/la_forms/``); a form is ``(transform, init, dp)``.
"""
import glob
import json
import os.path as osp
import re
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

MODELS = ('vit18', 'lavit_t_paper')  # the experiment's two models
FORMS = (('dense', 'linear', 'nodp'), ('dense', 'linear', 'paper'),
         ('dense', 'linear', 'corrected'), ('dense', 'linear', 'ours'),
         ('dense', 'identity', 'nodp'), ('dense', 'identity', 'ours'),
         ('local', 'identity', 'nodp'), ('local', 'identity', 'ours'))
SEEDS = 3
COPIES = 0.95  # mean adjacent similarity of the LA layers at or above this: they copy
UNIFORM = 0.95  # mean normalised entropy at or above this: their attention is uniform
RUN_NAME = re.compile(r'(?P<model>.+)_(?P<transform>local|dense)_(?P<init>identity|linear)_'
                      r'(?P<dp>nodp|ours|paper|corrected)_fashion_mnist')


def parse_run_name(name: str) -> Tuple[str, Tuple[str, str, str]]:
    """'vit18_dense_linear_paper_fashion_mnist' -> ('vit18', ('dense', 'linear', 'paper'))."""
    m = RUN_NAME.fullmatch(name)
    if m is None:
        raise ValueError(f'run {name!r} is not named <model>_<local|dense>_<identity|linear>_'
                         f'<nodp|ours|paper|corrected>_fashion_mnist')
    return m['model'], (m['transform'], m['init'], m['dp'])


def read_top1(work_dir: str, metric: str = 'accuracy/top1') -> Dict[str, List[float]]:
    """Run name -> ``metric`` of each finished seed (``WORK/<name>/seed<S>/result.json`` of
    ``tools/analysis/compare_configs.py``), seeds in order; runs not named as forms skipped."""
    found: Dict[str, List[Tuple[int, float]]] = {}
    for path in glob.glob(osp.join(work_dir, '*', 'seed*', 'result.json')):
        name = osp.basename(osp.dirname(osp.dirname(path)))
        if RUN_NAME.fullmatch(name) is None:
            continue
        with open(path) as f:
            result = json.load(f)
        found.setdefault(name, []).append((int(result['seed']), float(result['metrics'][metric])))
    return {name: [v for _, v in sorted(values)] for name, values in sorted(found.items())}


@dataclass
class FormRow:
    """One model with one form: top-1 (mean, std, per seed) and its LA layers' means."""
    model: str
    form: Tuple[str, str, str]
    top1: Tuple[float, float]
    seeds: Sequence[float]
    adjacent: Optional[float] = None  # mean over seeds and LA layers of sim(l-1, l)
    entropy: Optional[float] = None  # mean over seeds and LA layers of entropy / uniform

    @property
    def copies(self) -> bool:
        return self.adjacent is not None and self.adjacent >= COPIES

    @property
    def uniform(self) -> bool:
        return self.entropy is not None and self.entropy >= UNIFORM

    @property
    def measured(self) -> bool:
        return self.adjacent is not None and self.entropy is not None


def la_layer_means(summary: Iterable[Dict]) -> Dict[str, Tuple[float, float]]:
    """Per model of ``attention_seeds.summarize_over_seeds``'s rows: (mean adjacent
    similarity, mean entropy ratio) over its LA layers (each already a mean over seeds)."""
    per_model: Dict[str, Dict[str, List[float]]] = {}
    for r in summary:
        if r['kind'] != 'LA':
            continue
        slot = per_model.setdefault(r['model'], dict(adjacent=[], entropy=[]))
        for measure in ('adjacent', 'entropy'):
            if r[measure] is not None:
                slot[measure].append(r[measure][0])
    return {m: (float(np.mean(v['adjacent'])), float(np.mean(v['entropy'])))
            for m, v in per_model.items() if v['adjacent'] and v['entropy']}


def form_rows(top1: Dict[str, Sequence[float]],
              attention: Dict[str, Tuple[float, float]] = None) -> List[FormRow]:
    """``top1``: run name -> top-1 per seed; ``attention``: run name -> (adjacent, entropy)
    of :func:`la_layer_means` (labels NAME/SEED there, NAME the run name)."""
    rows = []
    for name, values in top1.items():
        model, form = parse_run_name(name)
        std = float(np.std(values, ddof=1)) if len(values) > 1 else float('nan')
        adjacent, entropy = (attention or {}).get(name, (None, None))
        rows.append(FormRow(model, form, (float(np.mean(values)), std), list(values),
                            adjacent, entropy))
    return rows


def runs_missing(rows: Sequence[FormRow], models=MODELS, forms=FORMS,
                 seeds: int = SEEDS) -> int:
    """How many of the experiment's runs (every form on every model, ``seeds`` seeds each)
    have no result in ``rows``: the rule is decided only when this is 0."""
    found = {(r.model, r.form): len(r.seeds) for r in rows}
    return sum(max(seeds - found.get((m, f), 0), 0) for m in models for f in forms)


@dataclass
class Decision:
    form: Tuple[str, str, str]
    mean_top1: float  # over the models
    qualified: bool  # whether it neither copies nor goes uniform in every model
    qualifying: List[Tuple[str, str, str]]


def choose_default(rows: Sequence[FormRow]) -> Decision:
    """The rule: among the forms run on every model, those whose LA layers neither copy
    (mean adjacent similarity < 0.95) nor go uniform (mean entropy < 0.95) in every model
    qualify; the default is the qualifying form with the best mean top-1 over the models, or,
    if none qualifies, the form with the best mean top-1 (``qualified`` False). Refuses rows
    without the attention measures: the rule needs them."""
    models = sorted({r.model for r in rows})
    by_form: Dict[tuple, Dict[str, FormRow]] = {}
    for r in rows:
        if not r.measured:
            raise ValueError(f'{r.model} {r.form}: no attention measures; run the analysis '
                             f'of its checkpoints first')
        by_form.setdefault(r.form, {})[r.model] = r
    complete = {f: m for f, m in by_form.items() if sorted(m) == models}
    if not complete:
        raise ValueError(f'no form was run on every model ({models})')
    mean_top1 = {f: float(np.mean([r.top1[0] for r in m.values()]))
                 for f, m in complete.items()}
    qualifying = [f for f, m in complete.items()
                  if not any(r.copies or r.uniform for r in m.values())]
    pool = qualifying or list(complete)
    best = max(pool, key=lambda f: mean_top1[f])
    return Decision(best, mean_top1[best], bool(qualifying), sorted(qualifying))


def form_label(form: Tuple[str, str, str]) -> str:
    transform, init, dp = form
    dp = {'nodp': 'DP off', 'corrected': "'paper-corrected'"}.get(dp, f"'{dp}'")
    return f"'{transform}' + '{init}', {dp}"


def table_markdown(rows: Sequence[FormRow], decision: Optional[Decision] = None) -> str:
    """One line per model and form: top-1 mean ± std (per seed), LA adjacent similarity and
    entropy, and whether they copy or go uniform."""
    lines = ['| model | form | top-1 mean ± std | per seed | LA sim(l-1, l) | LA entropy / '
             'uniform | LA layers |', '|---|---|---|---|---|---|---|']
    for r in sorted(rows, key=lambda r: (r.model, r.form)):
        verdict = ('copy' if r.copies else '') + (' uniform' if r.uniform else '')
        verdict = verdict.strip() or ('neither' if r.measured else '-')
        bold = decision is not None and r.form == decision.form
        form = f'**{form_label(r.form)}**' if bold else form_label(r.form)
        spread = f' ± {r.top1[1]:.2f}' if len(r.seeds) > 1 else ' (1 seed)'
        lines.append(f'| {r.model} | {form} | {r.top1[0]:.2f}{spread} | '
                     + ' / '.join(f'{v:.2f}' for v in r.seeds) + ' | '
                     + ('-' if r.adjacent is None else f'{r.adjacent:.2f}') + ' | '
                     + ('-' if r.entropy is None else f'{r.entropy:.2f}') + f' | {verdict} |')
    return '\n'.join(lines)
