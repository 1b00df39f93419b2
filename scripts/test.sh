#!/usr/bin/env bash
# The test suite: set up (if needed), then pytest. Extra args go to pytest.
#   bash scripts/test.sh            # everything (about 8 minutes on 2 CPU cores)
#   bash scripts/test.sh -m "not slow"   # skip the real Runner/evaluator runs
#   LAVIT_TEST_WORKERS=1 bash scripts/test.sh tests/test_x.py   # one process (pytest-xdist off)
# The suite runs in LAVIT_TEST_WORKERS processes (default 2, pytest-xdist), one thread each:
# most tests are short and single-threaded, so two processes keep both cores busy.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
bash scripts/setup.sh
WORKERS=${LAVIT_TEST_WORKERS:-2}
if [[ $WORKERS -gt 1 ]]; then
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
  exec "${LAVIT_VENV:-$ROOT/.venv}/bin/python" -m pytest -n "$WORKERS" "$@"
fi
exec "${LAVIT_VENV:-$ROOT/.venv}/bin/python" -m pytest "$@"
