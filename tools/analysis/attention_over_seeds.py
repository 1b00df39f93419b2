"""Aggregate the attention analysis over seeds: read the CSV of ``tools/analyze_attention.py``
(models labelled NAME/SEED), print per model the adjacent-layer similarity and the attention
entropy of chosen layers as mean ± std over the seeds, and plot the similarity along the depth
with a one-std band.

    python tools/analyze_attention.py --model CFG_A@A_seed0.pth CFG_A@A_seed1.pth ... \
        --labels A/0 A/1 ... --out-dir work_dirs/attn
    python tools/analysis/attention_over_seeds.py work_dirs/attn/attention_similarity.csv \
        --layers 14 15 16 17 18 --plot docs/images/collapse/adjacent_over_seeds.png
"""
import argparse
import csv
import sys

from lavit_mm_lab.attention_seeds import (plot_adjacent_over_seeds, summarize_over_seeds,
                                          summary_markdown)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('csv', help='attention_similarity.csv of tools/analyze_attention.py')
    parser.add_argument('--layers', type=int, nargs='+', required=True,
                        help='layers (of stage 1) to tabulate')
    parser.add_argument('--stage', type=int, default=1)
    parser.add_argument('--plot', help='PNG of the adjacent-layer similarity over seeds')
    args = parser.parse_args(argv)
    with open(args.csv, newline='') as f:
        rows = list(csv.DictReader(f))
    try:
        summary = summarize_over_seeds(rows)
    except ValueError as e:
        sys.exit(f'error: {e}')
    print(summary_markdown(summary, args.layers, args.stage))
    if args.plot:
        plot_adjacent_over_seeds(summary, args.plot, args.stage)
        print(f'written: {args.plot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
