"""docs/openapi.json, the checked-in OpenAPI document: written, or checked for staleness.

`scripts/gen-openapi` runs this; `--check` (CI) fails when the file differs from what the
contract generates now, so the document in the repository cannot drift from the gateway's.
The comments come from envoy/weir.pb, so that descriptor set must exist (and be fresh:
`scripts/build-descriptor-set --check`) before the document is made from it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.gateway.openapi import contract_openapi_json
from services.gateway.openapi_comments import DEFAULT_DESCRIPTOR_SET

CHECKED_IN = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def is_stale(path: Path = CHECKED_IN) -> bool:
    """Whether `path` is missing or differs from the document the contract generates."""
    return not path.is_file() or path.read_bytes() != contract_openapi_json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/gen-openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the checked-in document is stale")
    args = parser.parse_args(argv)
    if not DEFAULT_DESCRIPTOR_SET.is_file():
        print(f"{DEFAULT_DESCRIPTOR_SET} is missing: run scripts/build-descriptor-set first", file=sys.stderr)
        return 1
    relative = CHECKED_IN.relative_to(CHECKED_IN.parents[1])
    if args.check:
        if is_stale():
            print(f"stale: {relative} differs from what the contract generates: run scripts/gen-openapi")
            return 1
        print(f"{relative} is up to date")
        return 0
    CHECKED_IN.write_bytes(contract_openapi_json())
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
