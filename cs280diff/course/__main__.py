"""Course tooling from the command line.

  python -m cs280diff.course release [ID ...]   normalise solutions/ and regenerate notebooks/ (``make release``)
  python -m cs280diff.course autograde          grade submitted/<student>/<notebook>/ into the gradebook + feedback/
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
    p = sub.add_parser("autograde-one", help="(used by cs280diff grade) autograde one submission")
    p.add_argument("root"), p.add_argument("aid"), p.add_argument("student")
    p.add_argument("--cell-timeout", type=int, default=120)
    p.add_argument("--memory-gb", type=float, default=8.0)
    p.add_argument("--db-url", default=None)
    p = sub.add_parser("find-killer", help="(used by cs280diff grade) find the cell that stops the kernel")
    p.add_argument("notebook")
    p.add_argument("--cell-timeout", type=int, default=120)
    p.add_argument("--memory-gb", type=float, default=8.0)
    args = parser.parse_args(argv)
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
