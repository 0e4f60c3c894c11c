"""Course tooling from the command line.

  python -m cs280diff.course release [ID ...]   normalise solutions/ and regenerate notebooks/ (``make release``)
  python -m cs280diff.course autograde          grade submitted/<student>/<notebook>/ into the gradebook + feedback/
  python -m cs280diff.course grade INBOX        the TAs' one command, also ``cs280diff-grade INBOX`` (``make grade``)
  python -m cs280diff.course site [--quick]     the self-study site in build/site/html (``make site``)
  python -m cs280diff.course to-text NB.ipynb   print a notebook in jupytext's percent format (for editing / review)
  python -m cs280diff.course from-text F NB     write a notebook from that format (or compact headers)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cs280diff.course.authoring import notebook_from_text, text_from_notebook
from cs280diff.course.autograde import autograde
from cs280diff.course.release import release


def _grade_parser(parser) -> None:
    parser.add_argument("inbox", help="the folder of submissions as downloaded")
    parser.add_argument("--course", default=None, help="the course folder (default: this repository)")
    parser.add_argument("--workers", type=int, default=2, help="submissions graded at once (default 2)")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default 120)")
    parser.add_argument("--total-timeout", type=int, default=1200, help="seconds per submission (default 1200)")
    parser.add_argument("--memory-gb", type=float, default=8.0, help="address space per grading process (default 8)")
    parser.add_argument("--db-url", default=None, help="the gradebook (default sqlite:///<course>/gradebook.db), e.g. "
                                                       "postgresql+psycopg2://user@host/db for workers on several machines")
    parser.add_argument("--only", nargs="*", default=None, help="notebook ids to grade (default: all)")


_GRADE_HELP = ("Grade a folder of submissions: <inbox>/<student>/ folders, <student>.zip files or "
               "<student>__<name>.ipynb files; writes submitted/, autograded/, feedback/, reports/, originals/, "
               "grades.csv and grades_by_notebook.csv in the course folder.")


def _grade(args) -> int:
    from cs280diff.course.grade import Settings, grade

    settings = Settings(cell_timeout=args.cell_timeout, total_timeout=args.total_timeout, memory_gb=args.memory_gb,
                        workers=args.workers, db_url=args.db_url)
    grade(Path(args.inbox), Path(args.course) if args.course else None, settings=settings, only=args.only)
    return 0


def grade_main(argv: list[str] | None = None) -> int:
    """The ``cs280diff-grade`` console command (the same as ``python -m cs280diff.course grade``)."""
    parser = argparse.ArgumentParser(prog="cs280diff-grade", description=_GRADE_HELP)
    _grade_parser(parser)
    return _grade(parser.parse_args(argv))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cs280diff.course", description="course tooling: release, autograde, authoring")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("release")
    p.add_argument("ids", nargs="*", help="notebook ids (default: all)")
    sub.add_parser("autograde")
    p = sub.add_parser("to-text")
    p.add_argument("notebook")
    p = sub.add_parser("from-text")
    p.add_argument("text")
    p.add_argument("notebook")
    _grade_parser(sub.add_parser("grade", help="TAs: collect, repair, autograde in parallel, grades.csv",
                                 description=_GRADE_HELP))
    p = sub.add_parser("site", help="build the self-study site from the executed solution notebooks")
    p.add_argument("--out", default=None, help="output folder (default build/site)")
    p.add_argument("--quick", action="store_true", help="execute in the grading profile (seconds per notebook)")
    p.add_argument("--only", nargs="*", default=None, help="notebook ids (default: all)")
    sub.add_parser("profiles", help="write docs/profiles.md: what the fast and the full profile change per notebook")
    p = sub.add_parser("autograde-one", help="(used by cs280diff-grade) autograde one submission")
    p.add_argument("root"), p.add_argument("aid"), p.add_argument("student")
    p.add_argument("--cell-timeout", type=int, default=120)
    p.add_argument("--memory-gb", type=float, default=8.0)
    p.add_argument("--db-url", default=None)
    p = sub.add_parser("find-killer", help="(used by cs280diff-grade) find the cell that stops the kernel")
    p.add_argument("notebook")
    p.add_argument("--cell-timeout", type=int, default=120)
    p.add_argument("--memory-gb", type=float, default=8.0)
    args = parser.parse_args(argv)
    if args.cmd == "grade":
        return _grade(args)
    if args.cmd == "site":
        from cs280diff.course.site import build_site

        build_site(Path(args.out) if args.out else None, quick=args.quick, only=args.only)
        return 0
    if args.cmd == "profiles":
        from cs280diff.course.profiles import write

        print(f"wrote {write()}")
        return 0
    if args.cmd == "autograde-one":
        from cs280diff.course.worker import autograde_one

        autograde_one(Path(args.root), args.aid, args.student, cell_timeout=args.cell_timeout,
                      memory_gb=args.memory_gb, db_url=args.db_url)
        return 0
    if args.cmd == "find-killer":
        from cs280diff.course.worker import find_killer

        find_killer(Path(args.notebook), cell_timeout=args.cell_timeout, memory_gb=args.memory_gb)
        return 0
    if args.cmd == "release":
        release(only=args.ids or None)
    elif args.cmd == "autograde":
        autograde()
    elif args.cmd == "to-text":
        import nbformat

        print(text_from_notebook(nbformat.read(args.notebook, as_version=4)))
    elif args.cmd == "from-text":
        import nbformat

        nb = notebook_from_text(Path(args.text).read_text())
        Path(args.notebook).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, args.notebook)
    return 0


if __name__ == "__main__":
    sys.exit(main())
