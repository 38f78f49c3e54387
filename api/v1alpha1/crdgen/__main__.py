"""``python -m api.v1alpha1.crdgen [--output DIR] [--check]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .render import check_files, write_files

# config/crd of the repository this package lives in.
_DEFAULT_OUTPUT = Path(__file__).resolve().parents[3] / "config" / "crd"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m api.v1alpha1.crdgen",
        description="Generate the sei.io CRDs from the pydantic models in api/v1alpha1.",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=_DEFAULT_OUTPUT,
        help="directory of the CRD files (default: config/crd of this repository)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 with a diff if the files differ from freshly generated ones",
    )
    args = parser.parse_args(argv)
    if args.check:
        diff = check_files(args.output)
        if diff:
            sys.stdout.write(diff)
            print(
                f"error: {args.output} is out of date with api/v1alpha1; "
                "run `python -m api.v1alpha1.crdgen` (make crds) and commit the result",
                file=sys.stderr,
            )
            return 1
        print(f"{args.output}: CRDs are up to date")
        return 0
    for path in write_files(args.output):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
