"""Command line: ``cs280diff doctor`` (or ``python -m cs280diff doctor``), and ``cs280diff grade INBOX`` for TAs."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cs280diff", description="CS280 flow-matching practicum helpers")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print versions, device and profile")
    g = sub.add_parser("grade", help="TAs: collect, repair, autograde in parallel, feedback and grades.csv",
                       description="Grade a folder of submissions: <inbox>/<student>/ folders, <student>.zip files or "
                                   "<student>__<name>.ipynb files; writes submitted/, autograded/, feedback/, "
                                   "reports/, originals/ and grades.csv in the course folder.")
    g.add_argument("inbox", help="the folder of submissions as downloaded")
    g.add_argument("--course", default=None, help="the course folder (default: this repository)")
    g.add_argument("--workers", type=int, default=2, help="submissions graded at once (default 2)")
    g.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default 120)")
    g.add_argument("--total-timeout", type=int, default=1200, help="seconds per submission (default 1200)")
    g.add_argument("--memory-gb", type=float, default=8.0, help="address space per grading process (default 8)")
    g.add_argument("--db-url", default=None, help="the gradebook (default sqlite:///<course>/gradebook.db), e.g. "
                                                  "postgresql+psycopg2://user@host/db for workers on several machines")
    g.add_argument("--only", nargs="*", default=None, help="notebook ids to grade (default: all)")
    args = parser.parse_args(argv)
    if args.command == "grade":
        from pathlib import Path

        from cs280diff.course.grade import Settings, grade

        settings = Settings(cell_timeout=args.cell_timeout, total_timeout=args.total_timeout,
                            memory_gb=args.memory_gb, workers=args.workers, db_url=args.db_url)
        grade(Path(args.inbox), Path(args.course) if args.course else None, settings=settings, only=args.only)
        return 0
    if args.command == "doctor":
        from cs280diff.runtime import doctor

        print(doctor())
    return 0


if __name__ == "__main__":
    sys.exit(main())
