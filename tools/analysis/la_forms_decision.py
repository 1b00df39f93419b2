"""The Less-Attention forms experiment (docs/results.md, "Less-Attention forms"): the table of
top-1 (from the runs of tools/analysis/compare_configs.py under WORK_DIR) with the LA layers'
adjacent-layer similarity and entropy (from the CSV of tools/analyze_attention.py, models
labelled RUN_NAME/SEED), and the default form chosen by the rule written before the runs.

    python tools/analysis/la_forms_decision.py docs/results/la_forms \
        --attention docs/results/la_forms/*/seed*/attention_similarity.csv
"""
import argparse
import csv
import sys

from lavit_mm_lab.attention_seeds import summarize_over_seeds
from lavit_mm_lab.la_forms import (FORMS, MODELS, SEEDS, choose_default, form_label,
                                   form_rows, la_layer_means, read_top1, runs_missing,
                                   table_markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir')
    parser.add_argument('--attention', nargs='+',
                        help='attention_similarity.csv files (labels RUN/SEED)')
    parser.add_argument('--metric', default='accuracy/top1')
    args = parser.parse_args(argv)
    top1 = read_top1(args.work_dir, args.metric)
    if not top1:
        sys.exit(f'error: no finished run named <model>_<transform>_<init>_<dp>_fashion_mnist '
                 f'under {args.work_dir}')
    attention = None
    if args.attention:
        rows = []
        for path in args.attention:
            with open(path, newline='') as f:
                rows += list(csv.DictReader(f))
        attention = la_layer_means(summarize_over_seeds(rows))
    rows = form_rows(top1, attention)
    missing = runs_missing(rows)
    if missing:
        total = len(MODELS) * len(FORMS) * SEEDS
        print(table_markdown(rows))
        print(f'\nprovisional: {total - missing} of the {total} runs are in; the rule is '
              f'decided on all of them (every form on {" and ".join(MODELS)}, {SEEDS} seeds)')
        return 0
    try:
        decision = choose_default(rows)
    except ValueError as e:
        print(table_markdown(rows))
        print(f'\nno decision yet: {e}')
        return 0
    print(table_markdown(rows, decision))
    verdict = 'neither copies nor goes uniform in every model' if decision.qualified else \
        'no form qualifies (every one copies or goes uniform in some model)'
    print(f'\ndefault by the rule: {form_label(decision.form)}, mean top-1 over the models '
          f'{decision.mean_top1:.2f}; {verdict}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
