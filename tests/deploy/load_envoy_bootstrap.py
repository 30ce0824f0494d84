"""Load an Envoy YAML config into Envoy's own `Bootstrap` proto, as Envoy does at startup.

Run as a separate process, with an isolated xds-protos install first on PYTHONPATH (see
tests/deploy/envoy_schema.py): xds-protos ships its own copies of google/api and google/rpc,
which must not meet googleapis-common-protos (which Weir itself imports) in one process.

    python load_envoy_bootstrap.py CONFIG.yaml

Prints the config as Envoy reads it (proto JSON, snake_case names, every `typed_config`
expanded) and exits 0; or prints why Envoy would refuse it to stderr and exits 1. Unknown
fields are errors, inside `typed_config` too: each `Any` is unpacked into the message its
`@type` names, so the module defining that type is imported first.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from envoy.config.bootstrap.v3 import bootstrap_pb2
from google.protobuf import json_format

TYPE_URL_PREFIX = "type.googleapis.com/"


def type_urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("@type"), str):
            yield node["@type"]
        for value in node.values():
            yield from type_urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from type_urls(item)


def import_defining_package(type_url: str) -> None:
    """Import every generated module of the proto package that defines `type_url`'s message,
    so its descriptor is in the pool when the Any is parsed. A proto package is a Python
    package in xds-protos; the file within it is not derivable from the type name."""
    if not type_url.startswith(TYPE_URL_PREFIX):
        raise ValueError(f"unsupported type URL {type_url!r}")
    parts = type_url.removeprefix(TYPE_URL_PREFIX).split(".")
    # Drop the message name, and any enclosing message names, until a package imports.
    for end in range(len(parts) - 1, 0, -1):
        try:
            package = importlib.import_module(".".join(parts[:end]))
        except ModuleNotFoundError:
            continue
        if hasattr(package, "__path__"):
            for module in pkgutil.iter_modules(package.__path__):
                if module.name.endswith("_pb2"):
                    importlib.import_module(f"{package.__name__}.{module.name}")
            return
    raise ValueError(f"no xds-protos package defines {type_url!r}")


def load_bootstrap(path: Path) -> bootstrap_pb2.Bootstrap:
    config = yaml.safe_load(path.read_text())
    for type_url in sorted(set(type_urls(config))):
        import_defining_package(type_url)
    # YAML -> JSON -> proto, the way Envoy loads YAML; ignore_unknown_fields=False is the
    # default and is what makes a misspelt or misplaced field an error.
    return json_format.Parse(json.dumps(config), bootstrap_pb2.Bootstrap(), ignore_unknown_fields=False)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} CONFIG.yaml", file=sys.stderr)
        return 2
    try:
        bootstrap = load_bootstrap(Path(argv[1]))
    except (json_format.ParseError, ValueError, yaml.YAMLError) as error:
        print(f"{argv[1]}: {error}", file=sys.stderr)
        return 1
    print(json_format.MessageToJson(bootstrap, preserving_proto_field_name=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
