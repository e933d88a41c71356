"""Copies the response schemas the emulator tests need out of the vendor's OpenAPI file.

Usage: python3 convert.py PATH/TO/leap0-openapi.yaml > schemas.json

Keeps the named schemas of components/schemas and every schema they reference, as
they are (OpenAPI 3.0-style `nullable` included: the test rewrites it when loading),
under the same path, so that `#/components/schemas/...` references resolve unchanged.
"""

import json
import sys

import yaml

ROOTS = [
    "ErrorResponse",
    "ValidationErrorResponse",
    "SandboxCreateResponse",
    "SandboxStatusResponse",
    "SnapshotCreateResponse",
    "ListSnapshotsResponse",
]
PREFIX = "#/components/schemas/"


def refs(node):
    """Every schema name referenced inside node."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(PREFIX):
            yield ref[len(PREFIX):]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def main(path):
    with open(path, encoding="utf-8") as f:
        schemas = yaml.safe_load(f)["components"]["schemas"]
    kept, todo = {}, list(ROOTS)
    while todo:
        name = todo.pop()
        if name not in kept:
            kept[name] = schemas[name]
            todo.extend(refs(kept[name]))
    ordered = {name: kept[name] for name in schemas if name in kept}
    json.dump({"components": {"schemas": ordered}}, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
