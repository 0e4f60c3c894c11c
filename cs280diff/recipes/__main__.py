"""Command line of the weights build: ``python -m cs280diff.recipes build | measure | verify | compare | list``."""
from __future__ import annotations

import argparse
import sys

from cs280diff.nets.registry import MANIFEST, read_manifest, verify, weights_dir
from cs280diff.recipes.build import build, compare, measure
from cs280diff.recipes.specs import SPECS


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cs280diff.recipes",
                                     description="build, measure, verify and compare the shipped weights")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="retrain shipped models from scratch and write weights + manifest")
    b.add_argument("--only", nargs="+", metavar="NAME", help=f"models to build (default all: {', '.join(SPECS)})")
    b.add_argument("--out", help="output folder (default: the package's weights folder)")
    b.add_argument("--jobs", type=int, default=1, help="train this many models at once (processes)")
    m = sub.add_parser("measure", help="re-measure the metrics of built models (no training)")
    m.add_argument("--only", nargs="+", metavar="NAME", help="models to measure (default all)")
    m.add_argument("--dir", help="weights folder (default: shipped)")
    v = sub.add_parser("verify", help="check the sha256 of every weights file")
    v.add_argument("--dir", help="weights folder (default: shipped)")
    c = sub.add_parser("compare", help="compare a rebuild's metrics with the shipped ones")
    c.add_argument("rebuilt", help="folder written by `build --out`")
    sub.add_parser("list", help="the shipped models, sizes and headline metrics")
    args = parser.parse_args(argv)
    if args.command == "build":
        m = build(args.only, args.out, jobs=args.jobs)
        print(f"built {', '.join(m['build']['models'])} in {m['build']['wall_seconds']:.0f} s; "
              f"{m['total_bytes'] / 1e6:.2f} MB of weights in {args.out or weights_dir()}")
        if args.out:
            problems = compare(args.out) if (weights_dir() / MANIFEST).is_file() else []
            print("\n".join(problems) if problems else "metrics agree with the shipped manifest within tolerances")
            return 1 if problems else 0
        return 0
    if args.command == "measure":
        measure(args.only, args.dir)
        return 0
    if args.command == "verify":
        result = verify(args.dir)
        for name, ok in result.items():
            print(f"{'ok ' if ok else 'BAD'} {name}")
        return 0 if all(result.values()) else 1
    if args.command == "compare":
        problems = compare(args.rebuilt)
        print("\n".join(problems) if problems else "metrics agree with the shipped manifest within tolerances")
        return 1 if problems else 0
    manifest = read_manifest()
    for name, e in sorted(manifest["models"].items()):
        head = e.get("metrics", {}).get(e["headline"])
        print(f"{name:26s} {e['class']:22s} {e['bytes'] / 1024:8.1f} KiB  {e['headline']} = {head:.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
