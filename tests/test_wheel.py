"""The package as Colab gets it: a built wheel installed non-editable into a fresh virtual environment.

An editable install finds every subpackage on disk and hides one that the wheel leaves out; this test builds the
wheel from a copy of the source, installs it with pip (no dependencies: those come from this environment's
site-packages, visible to the fresh one, which has no cs280diff of its own), and from outside the repository imports
every module, loads every shipped checkpoint and checks its sha256.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHECK = r"""
import importlib, pkgutil, sys
import cs280diff
from cs280diff.nets import registry
site, names = sys.argv[1], sys.argv[2:]
assert cs280diff.__file__.startswith(site), f"cs280diff imported from {cs280diff.__file__}, not the wheel in {site}"
installed = {m.name for m in pkgutil.walk_packages(cs280diff.__path__, "cs280diff.")}
missing = sorted(set(names) - installed - {"cs280diff"})
assert not missing, f"the wheel lacks {missing}"
for name in names:
    module = importlib.import_module(name)
    assert module.__file__.startswith(site), f"{name} imported from {module.__file__}"
for name in registry.available():
    registry.load_pretrained(name)
assert all(registry.verify().values()), registry.verify()
print(f"imported {len(names)} modules and loaded {len(registry.available())} checkpoints from {site}")
"""


def _run(*cmd, cwd=None) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_wheel_installs_every_module_and_checkpoint(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "cs280diff", src / "cs280diff", ignore=shutil.ignore_patterns("__pycache__"))
    _run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir",
         str(tmp_path / "dist"), str(src))
    (wheel,) = (tmp_path / "dist").glob("cs280diff-*.whl")

    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(_run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())
    _run(sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--target", str(site),
         str(wheel))
    # the dependencies (torch, safetensors, ...) from this environment, after the fresh site-packages on sys.path;
    # a path added by a .pth line is not scanned for .pth files, so this environment's editable cs280diff stays off
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    out = _run(str(python), "-I", "-c", CHECK, str(site), *_source_modules(), cwd=tmp_path)
    assert "checkpoints" in out
    assert any(n.startswith("cs280diff/nets/weights/") and n.endswith(".safetensors")
               for n in _wheel_names(wheel)), "the wheel ships no weights"


def _source_modules() -> list[str]:
    """Every module of the source tree, as dotted names."""
    out = []
    for path in sorted((REPO / "cs280diff").rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts[-1] != "__main__":
            out.append(".".join(parts))
    return out


def _wheel_names(wheel: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(wheel) as z:
        return z.namelist()
