"""Course tooling for instructors and TAs: release the student notebooks, autograde, author notebooks as text.

  authoring    the set-up cell, the plain-text notebook format, cleaning notebooks
  release      nbgrader's API on this repository's config, ``make release``
  autograde    ``make autograde``: grade submitted/ into the gradebook and feedback/
  grade        ``cs280diff-grade INBOX``: collect (``collect``), repair (``repair``), autograde in parallel
               (``worker``), feedback, grades.csv
  site         ``make site``: the executed solution notebooks as a Sphinx + myst-nb site
  kernels      the kernel client every notebook run uses: it polls for replies in slices (no missed wake-up)
  profiles     ``docs/profiles.md``: what the fast and the full profile change, read from the notebooks
  __main__     ``python -m cs280diff.course release | autograde | to-text | from-text``

Nothing student-facing imports it (a test keeps it so), and it imports nothing of the package: nbgrader and its
friends are imported lazily, so students never need them.  The check helpers that test cells import are
``cs280diff.grading``, at the top level.
"""
from cs280diff.course.authoring import (REPO, SETUP_TAG, clean_notebook, normalise_solutions, notebook_from_text,
                                        repository_url, setup_cell_source, solution_notebooks, text_from_notebook,
                                        with_setup_cell)
from cs280diff.course.autograde import autograde
from cs280diff.course.release import generate_release, nbgrader_api, release

__all__ = ["REPO", "SETUP_TAG", "clean_notebook", "normalise_solutions", "notebook_from_text", "repository_url",
           "setup_cell_source", "solution_notebooks", "text_from_notebook", "with_setup_cell", "autograde",
           "generate_release", "nbgrader_api", "release"]
