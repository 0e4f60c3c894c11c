#!/usr/bin/env bash
# The practicum on one GPU: every solution notebook in the full profile, then the training throughput of the
# shipped architectures (CPU and GPU side by side); the tables land in benchmarks/ (…_cuda.md) to be committed.
#
#   bash benchmarks/gpu_run.sh [PYTHON]      # PYTHON: an interpreter whose torch sees the GPU (default python3)
#   make bench-gpu                           # the same through the project's environment (TORCH=torch for CUDA)
#
# Environment: REPEATS (runs per notebook, default 1), ONLY (notebook ids, default all), OUT_DIR (default
# benchmarks/), TRAIN_ARGS (extra arguments of training_throughput.py).  CS280DIFF_DEVICE=cpu runs the very same
# steps on the CPU (writing …_cpu.md files): the test suite does that, so the script is known to work before a GPU
# is lent.  Nothing is downloaded: the kernel imports cs280diff from this checkout (PYTHONPATH).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PYTHON:-python3}}
OUT_DIR=${OUT_DIR:-benchmarks}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$OUT_DIR"

"$PY" - <<'PYEOF'
import importlib.util, os, sys
missing = [m for m in ("torch", "nbclient", "nbformat", "ipykernel", "matplotlib", "ipywidgets", "tqdm", "sklearn",
                       "safetensors", "scipy") if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"gpu_run.sh: {sys.executable} lacks {missing}: install the project (pip install -e '.[dev]') first")
import torch
if os.environ.get("CS280DIFF_DEVICE", "") != "cpu" and not torch.cuda.is_available():
    sys.exit("gpu_run.sh: torch sees no GPU (torch.cuda.is_available() is False); CS280DIFF_DEVICE=cpu to test on CPU")
name = torch.cuda.get_device_name() if torch.cuda.is_available() and os.environ.get("CS280DIFF_DEVICE") != "cpu" else "CPU"
print(f"gpu_run.sh: torch {torch.__version__} on {name}", flush=True)
PYEOF

DEV=cuda
[ "${CS280DIFF_DEVICE:-}" = cpu ] && DEV=cpu
start=$(date +%s)
# shellcheck disable=SC2086
"$PY" benchmarks/notebooks.py --profile full --full-repeats "${REPEATS:-1}" ${ONLY:+--only $ONLY} \
    --out-dir "$OUT_DIR"
# shellcheck disable=SC2086
"$PY" benchmarks/training_throughput.py ${TRAIN_ARGS:-} --out "$OUT_DIR/training_throughput_$DEV.md"
echo "gpu_run.sh: done in $(( $(date +%s) - start )) s; tables: $OUT_DIR/notebooks_full_$DEV.md, $OUT_DIR/training_throughput_$DEV.md"
