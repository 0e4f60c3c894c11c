"""benchmarks/gpu_run.sh, the one command that makes the GPU tables, run on the CPU (CS280DIFF_DEVICE=cpu) on one
notebook and one architecture: it must work before a GPU is lent."""
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_gpu_script_runs_on_cpu_and_writes_both_tables(tmp_path):
    env = {**os.environ, "CS280DIFF_DEVICE": "cpu", "OUT_DIR": str(tmp_path), "ONLY": "01_one_d_flow",
           "TRAIN_ARGS": "--steps 2 --repeats 1 --only ring_mlp"}
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_run.sh"), sys.executable], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    notebooks = (tmp_path / "notebooks_full_cpu.md").read_text()
    assert "Solution notebooks in the `full` profile on cpu" in notebooks
    row = re.search(r"^\| 01_one_d_flow \| ([\d.]+) \| [\d.]+–[\d.]+ \| (\d+) \| (\d+) \|$", notebooks, re.M)
    assert row and float(row[1]) > 0 and int(row[2]) > 0 and int(row[3]) >= 1, notebooks  # time, RSS, figures
    training = (tmp_path / "training_throughput_cpu.md").read_text()
    assert re.search(r"^\| MLPVelocity \(ring_mlp\) \| [\d,]+ \| 256 \| [\d.]+ \|$", training, re.M), training


def test_the_gpu_script_refuses_clearly_without_a_gpu(tmp_path):
    import torch

    if torch.cuda.is_available():
        return
    env = {k: v for k, v in os.environ.items() if k != "CS280DIFF_DEVICE"}
    done = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_run.sh"), sys.executable],
                          env={**env, "OUT_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "torch sees no GPU" in done.stdout + done.stderr
