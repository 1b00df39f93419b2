#!/usr/bin/env bash
# The test suite: set up (if needed), then pytest. Extra args go to pytest.
#   bash scripts/test.sh            # everything (a few minutes on 2 CPU cores)
#   bash scripts/test.sh -m "not slow"   # skip the real Runner/evaluator runs
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
exec "${LAVIT_VENV:-$ROOT/.venv}/bin/python" -m pytest "$@"
