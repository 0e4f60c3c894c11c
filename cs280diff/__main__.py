"""Command line: ``cs280diff doctor`` (or ``python -m cs280diff doctor``).  The TAs' command is ``cs280diff-grade``
(``cs280diff.course``)."""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cs280diff", description="CS280 flow-matching practicum helpers")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="print versions, device and profile")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from cs280diff.runtime import doctor

        print(doctor())
    return 0


if __name__ == "__main__":
    sys.exit(main())
