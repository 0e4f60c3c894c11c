"""The child processes of ``cs280diff-grade`` (``python -m cs280diff.course autograde-one | find-killer``).

Each runs with an address-space cap that its kernel inherits, so a memory-hungry cell fails with a MemoryError
instead of taking the machine down.
"""
from __future__ import annotations

import json
import os
import resource
import tempfile
import time
from pathlib import Path

from cs280diff.course.grade import DEAD_KERNEL, KILLER_SOURCE

__all__ = ["autograde_one", "find_killer"]


def _kernel_sockets() -> dict:
    """The kernel's sockets as Unix sockets under a name of this process's own (POSIX), not TCP ports: parallel
    graders that pick free TCP ports at the same moment can pick the same one, and the kernel that loses dies at
    start (jupyter_client's port race).  Each grader process runs one kernel at a time."""
    if os.name != "posix":
        return {}
    return {"transport": "ipc", "ip": os.path.join(tempfile.gettempdir(), f"cs280diff-kernel-{os.getpid()}")}


def _limit_memory(gb: float) -> None:
    limit = int(gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def autograde_one(root: Path, aid: str, student: str, *, cell_timeout: int, memory_gb: float,
                  db_url: str | None = None) -> dict:
    """nbgrader's autograde of one submission and its feedback; a write that meets a locked SQLite gradebook is
    retried.  Prints (and returns) {"success": ..., "reason": ...} as the last line of JSON."""
    from cs280diff.course.release import nbgrader_api

    _limit_memory(memory_gb)
    overrides = {"Execute__timeout": cell_timeout, **({"CourseDirectory__db_url": db_url} if db_url else {}),
                 **{f"KernelManager__{k}": v for k, v in _kernel_sockets().items()}}
    api = nbgrader_api(Path(root), **overrides)
    for attempt in range(8):
        result = api.autograde(aid, student, force=True, create=True)
        text = f"{result.get('error')}\n{result.get('log')}"
        if result["success"] or "database is locked" not in text:
            break
        time.sleep(0.3 * (attempt + 1))  # another worker holds the SQLite write lock: wait and redo
    reason = "" if result["success"] else (DEAD_KERNEL if "DeadKernel" in text or "Kernel died" in text
                                           else (result.get("error") or "autograde failed").strip()[-300:])
    out = {"success": bool(result["success"]), "reason": reason}
    print(json.dumps(out), flush=True)
    return out


def find_killer(path: Path, *, cell_timeout: int, memory_gb: float) -> int | None:
    """Run the notebook at ``path`` cell by cell as nbgrader would (grading mode); the first code cell that kills
    the kernel or outlives ``cell_timeout`` without answering is replaced by ``KILLER_SOURCE`` in the file.
    Prints "KILLER <name>" and returns its index, or None when every cell ran."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from traitlets.config import Config

    from cs280diff.course.kernels import PatientKernelManager

    _limit_memory(memory_gb)
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, interrupt_on_timeout=False, allow_errors=True,
                            kernel_name="python3", kernel_manager_class=PatientKernelManager,
                            resources={"metadata": {"path": str(Path(path).parent)}},
                            config=Config({"KernelManager": _kernel_sockets()}))
    culprit = None
    try:
        with client.setup_kernel():
            for i, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                try:
                    client.execute_cell(cell, i)
                except (CellTimeoutError, DeadKernelError, RuntimeError):
                    culprit = i
                    break
    except Exception:  # noqa: BLE001  a kernel that died cannot be shut down cleanly
        pass
    if culprit is None:
        return None
    fresh = nbformat.read(path, as_version=4)
    culprit = _answer_behind(fresh, culprit)
    name = fresh.cells[culprit].get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {culprit}"
    fresh.cells[culprit].source = KILLER_SOURCE
    nbformat.write(fresh, path)
    print(f"KILLER {name}", flush=True)
    return culprit


def _answer_behind(nb, i: int) -> int:
    """A test cell test_<id> that kills the kernel does so by calling the answer <id>: that answer is the cell to
    quarantine (nbgrader restores test cells, never answers).  Any other cell is its own culprit."""
    meta = nb.cells[i].get("metadata", {}).get("nbgrader", {})
    if not meta.get("grade") or meta.get("solution"):
        return i
    gid = meta.get("grade_id", "")
    answers = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id"): k for k, c in enumerate(nb.cells)
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for sid, k in sorted(answers.items(), key=lambda kv: -len(kv[0] or "")):
        if sid and (gid == f"test_{sid}" or gid.startswith(f"test_{sid}__")):
            return k
    return i
