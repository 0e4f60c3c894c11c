"""``make site``: the self-study site, the executed solution notebooks as web pages (Sphinx + myst-nb).

Why Sphinx with myst-nb: it renders executed notebooks as they are (no re-execution: ``nb_execution_mode = "off"``),
with MathJax, images and text outputs, from the Executable Books project that also maintains Jupyter Book; it needs
no Node tool chain and builds offline (MathJax ships with the site: ``sphinx-mathjax-offline``).  Each notebook is executed here first (nbclient, the fast profile by
default; ``quick=True``: the grading profile, seconds per notebook, for tests), then:
  - an "Open in Colab" badge (a local SVG, so pages have no remote images) links to the student notebook;
  - every widget is replaced by what its Output widgets showed when it ran (the figure at the default knob), a
    static image, since no kernel runs behind the page;
  - the index lists the notebooks in practicum order with the first lines of each.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cs280diff.course.authoring import REPO, repository_url, solution_notebooks

__all__ = ["build_site", "static_widgets"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
BADGE = ('<svg xmlns="http://www.w3.org/2000/svg" width="118" height="20"><rect width="118" height="20" rx="3" '
         'fill="#555"/><rect x="46" width="72" height="20" rx="3" fill="#f9ab00"/><text x="6" y="14" fill="#fff" '
         'font-family="Verdana" font-size="11">Open in</text><text x="52" y="14" fill="#000" font-family="Verdana" '
         'font-size="11">Colab</text></svg>')


def _execute(path: Path, quick: bool):
    import nbformat
    from nbclient import NotebookClient

    from cs280diff.course.kernels import PatientKernelManager

    nb = nbformat.read(path, as_version=4)
    env_key, value = ("NBGRADER_EXECUTION", "autograde") if quick else ("CS280DIFF_PROFILE", "fast")
    saved = os.environ.get(env_key)
    os.environ[env_key], os.environ["MPLBACKEND"] = value, "module://matplotlib_inline.backend_inline"
    try:
        NotebookClient(nb, timeout=900, kernel_name="python3", store_widget_state=True, allow_errors=False,
                       kernel_manager_class=PatientKernelManager,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    finally:
        if saved is None:
            os.environ.pop(env_key, None)
        else:
            os.environ[env_key] = saved
    return nb


def static_widgets(nb):
    """Replace every widget view in the outputs by the outputs its Output widgets held (figures, text)."""
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})

    def flatten(model_id, seen):
        if model_id in seen or model_id not in state:
            return []
        seen.add(model_id)
        model = state[model_id]
        found = list(model.get("state", {}).get("outputs", [])) if model.get("model_name") == "OutputModel" else []
        for child in model.get("state", {}).get("children", []):
            found += flatten(str(child).removeprefix("IPY_MODEL_"), seen)
        return found

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view:
                outputs += [o for o in flatten(view["model_id"], set()) if o.get("output_type") != "error"]
            else:
                outputs.append(out)
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return nb


def _badge(nb, aid: str):
    import nbformat

    url = repository_url().rstrip("/").removeprefix("https://github.com/").split("@")[0]
    link = f"https://colab.research.google.com/github/{url}/blob/main/notebooks/{aid}/{aid}.ipynb"
    cell = nbformat.v4.new_markdown_cell(f'<a href="{link}"><img src="_static/colab-badge.svg" alt="Open in Colab"></a>')
    nb.cells.insert(0, cell)
    return nb


def _summary(nb) -> tuple[str, str]:
    """(title, the first paragraph after the title) of a notebook."""
    text = next(c.source for c in nb.cells if c.cell_type == "markdown" and c.source.lstrip().startswith("#"))
    lines = text.strip().splitlines()
    title = lines[0].lstrip("# ").strip()
    rest = " ".join(line.strip() for line in lines[1:]).strip()
    first = re.split(r"(?<=\.)\s", re.sub(r"\*[^*]*slides?[^*]*\*", "", rest).strip(), maxsplit=1)[0]
    return title, first


def build_site(out: Path | None = None, *, quick: bool = False, only: list[str] | None = None, log=print) -> Path:
    """Execute the solution notebooks, write the Sphinx project and build the HTML; returns the index.html."""
    import nbformat

    out = Path(out or REPO / "build" / "site")
    src = out / "src"
    shutil.rmtree(src, ignore_errors=True)
    (src / "_static").mkdir(parents=True)
    (src / "_static" / "colab-badge.svg").write_text(BADGE)
    entries = []
    for path in solution_notebooks():
        aid = path.parent.name
        if only and aid not in only:
            continue
        log(f"executing {aid}")
        nb = _badge(static_widgets(_execute(path, quick)), aid)
        nbformat.write(nb, src / f"{aid}.ipynb")
        entries.append((aid, *_summary(nb)))
    rows = "\n".join(f"| [{title}]({aid}.ipynb) | {first} |" for aid, title, first in entries)
    (src / "index.md").write_text(
        "# cs280diff: the self-study site\n\nThe practicum's solution notebooks, executed "
        f"({'grading' if quick else 'fast CPU'} profile), in order. Each page opens its student version in Colab.\n\n"
        "| notebook | what it is about |\n|---|---|\n" + rows + "\n\n```{toctree}\n:hidden:\n\n"
        + "\n".join(aid for aid, *_ in entries) + "\n```\n")
    (src / "conf.py").write_text(
        'project = "cs280diff"\nextensions = ["myst_nb", "sphinx-mathjax-offline"]\nnb_execution_mode = "off"\n'
        'html_static_path = ["_static"]\nexclude_patterns = ["_build"]\nhtml_title = "cs280diff"\n'
        'myst_enable_extensions = ["dollarmath", "amsmath"]\nsuppress_warnings = ["mystnb.unknown_mime_type"]\n')
    html = out / "html"
    subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src), str(html)], check=True)
    log(f"site in {html / 'index.html'}")
    return html / "index.html"
