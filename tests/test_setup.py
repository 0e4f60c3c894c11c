"""Set-up: dependency lists agree, the Colab set-up cell, clean notebooks, `make lab`, the doctor command."""
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import tomllib
import types
import urllib.request

import nbformat
import pytest

from cs280diff import course

REPO = course.REPO


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[;]", req.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {_name(r): r.replace(" ", "") for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted.update({_name(r): r.replace(" ", "") for r in extra})
    listed = {}
    text = (REPO / "environment.yml").read_text()
    for line in text[text.index("dependencies:"):].splitlines():
        m = re.match(r"^\s*-\s+([A-Za-z0-9_.\-]+.*)$", line)
        if m and not m.group(1).startswith(("-e", "pip:")):
            listed[_name(m.group(1))] = m.group(1).replace(" ", "")
    listed.pop("python", None), listed.pop("pip", None)
    assert listed == wanted, "environment.yml and pyproject.toml disagree: " + str(
        set(listed.items()) ^ set(wanted.items()))


def test_torch_has_a_loose_bound_in_pyproject_and_the_exact_cpu_pin_in_the_makefile():
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_req = next(d for d in deps if _name(d) == "torch")
    assert ">=" in torch_req and "==" not in torch_req
    assert "TORCH  ?= torch==2.13.0" in (REPO / "Makefile").read_text()
    assert "torchvision" not in (REPO / "pyproject.toml").read_text()


def _setup_cells():
    paths = sorted(REPO.glob("solutions/*/*.ipynb")) + sorted(REPO.glob("notebooks/*/*.ipynb"))
    assert paths
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        yield path, next(c for c in nb.cells if c.cell_type == "code").source


def test_every_notebook_starts_with_the_setup_cell_from_pyproject():
    url = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    for path, source in _setup_cells():
        assert source == course.setup_cell_source(url), f"{path}: stale set-up cell, run `make release`"
        assert f"git+{url}" in source


def _run_setup_cell(source, installed: bool, pip_fails: bool = False):
    """Execute the cell with subprocess and find_spec stubbed; return the commands it would have run."""
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        return types.SimpleNamespace(returncode=1 if pip_fails else 0, stdout="",
                                     stderr="ERROR: Could not find a version that satisfies git+... (network)")

    fake_subprocess = types.SimpleNamespace(run=run)
    import importlib.util as real_util

    fake_util = types.SimpleNamespace(find_spec=lambda name: real_util.find_spec(name) if installed else None)
    fake_importlib = types.SimpleNamespace(util=fake_util, invalidate_caches=lambda: calls.append("invalidate"))
    saved = {k: sys.modules.get(k) for k in ("subprocess", "importlib", "importlib.util")}
    sys.modules.update({"subprocess": fake_subprocess, "importlib": fake_importlib, "importlib.util": fake_util})
    try:
        exec(compile(source, "<setup cell>", "exec"), {})
    finally:
        sys.modules.update(saved)
    return calls


def test_setup_cell_is_a_no_op_where_the_package_is_installed():
    for path, source in _setup_cells():
        assert _run_setup_cell(source, installed=True) == [], f"{path}: the set-up cell ran pip although installed"


def test_setup_cell_installs_from_the_repository_when_missing():
    _, source = next(_setup_cells())
    calls = _run_setup_cell(source, installed=False)
    assert len(calls) == 2 and calls[0][1:4] == ["-m", "pip", "install"] and calls[1] == "invalidate"
    assert calls[0][-1] == "git+" + course.repository_url()


def test_setup_cell_says_what_to_do_when_the_install_fails():
    _, source = next(_setup_cells())
    with pytest.raises(RuntimeError) as err:
        _run_setup_cell(source, installed=False, pip_fails=True)
    text = str(err.value)
    assert "Could not install the course's helper package cs280diff from git+" + course.repository_url() in text
    assert "network" in text and "course staff" in text and "pip install git+" in text


def test_solution_notebooks_are_committed_clean():
    for path in sorted(REPO.glob("solutions/*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            assert set(cell.metadata) <= {"nbgrader"}, f"{path}: editor metadata {set(cell.metadata)}"
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path}: committed with outputs"


def test_student_notebooks_have_stubs_and_no_hidden_tests():
    for path in sorted(REPO.glob("notebooks/*/*.ipynb")):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" not in text  # every stub names its exercise
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                stub = r"raise NotImplementedError\(\n\s*" + re.escape(f"\"exercise {meta['grade_id']} is not written yet")
                assert re.search(stub, cell.source), path
                lines = cell.source.splitlines()
                raised = [lines[i + 1] for i, line in enumerate(lines) if line.strip() == "raise NotImplementedError("]
                assert raised and max(map(len, raised)) <= 100, f"{path}: a stub wider than its cell"


def test_doctor_prints_device_profile_and_versions():
    for cmd in ([sys.executable, "-m", "cs280diff", "doctor"], [os.path.join(os.path.dirname(sys.executable), "cs280diff"), "doctor"]):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
        for word in ("device", "profile", "torch", "numpy", "cs280diff"):
            assert re.search(rf"^{word}\s", out, re.M), f"{cmd}: no {word} line in\n{out}"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_lab_starts_jupyterlab_on_notebooks():
    """`make lab` starts JupyterLab (headless here, on a free loopback port); its API answers; then stop it."""
    port, token = _free_port(), secrets.token_hex(8)
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token} --ServerApp.port_retries=0"
    proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}", f"VENV={os.path.dirname(os.path.dirname(sys.executable))}"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline, status = time.time() + 90, None
        while time.time() < deadline and status is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2) as r:
                    status = r.status
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()
                time.sleep(0.5)
        assert status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as r:
            names = {item["name"] for item in __import__("json").load(r)["content"]}
        assert "01_one_d_flow" in names, f"JupyterLab is not opened on notebooks/: {names}"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab?token={token}", timeout=10) as r:
            assert r.status == 200
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_every_scope_in_the_schedule_exists():
    """conftest's SCOPE_SECONDS (longest scopes first under xdist) names real modules, classes and notebooks."""
    from conftest import SCOPE_SECONDS

    import nbgrading as G

    for scope in SCOPE_SECONDS:
        path, _, cls = scope.partition("::")
        assert (REPO / path).is_file(), f"SCOPE_SECONDS names {path}, which is gone: refresh the table"
        if cls:
            assert cls.removeprefix("TestNotebook_") in G.notebook_ids(), f"SCOPE_SECONDS names {scope}: no such class"


def test_the_kernel_is_ipykernel_6():
    """ipykernel 7 can leave a request unread on the shell socket (a cell waits with the kernel idle): pinned < 7."""
    from importlib.metadata import version

    assert version("ipykernel").split(".")[0] == "6", f"ipykernel {version('ipykernel')}: pyproject pins <7"
