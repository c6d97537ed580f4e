"""Regenerate the OpenAPI documents in tests/data/ from the full published ones.

The tests check our schema against Waldur's and the emulator's answers against DigitalOcean's. They need the
facts of those documents (paths, operation ids, parameters, status codes, schemas, enums), not their prose, so
this keeps the operations under the given path prefixes and every component they reach, and drops
descriptions, summaries, examples, tags and vendor extensions. Run it only when a newer published document is
at hand; the reduced files are committed and the suite never needs the full ones.

    python tests/data/reduce_openapi.py waldur-openapi-schema.yaml tests/data/waldur-openapi.yaml \
        --source "waldur/api-docs docs/API/waldur-openapi-schema-8.0.5.yaml" --keep /api/digitalocean-

DigitalOcean's specification is split over many files: bundle it into one first (for example with Redocly
CLI's `bundle`), then pass the bundle with one `--keep` per path prefix the emulator serves.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

# Keys that hold prose or samples, wherever they stand as a keyword of the document.
PROSE_KEYS = {"description", "summary", "example", "examples", "externalDocs", "tags"}
# Mappings whose keys are names chosen by the document's author (a property may be called "description").
NAMED_MAPS = {
    "properties",
    "paths",
    "schemas",
    "responses",
    "parameters",
    "headers",
    "requestBodies",
    "securitySchemes",
    "content",
    "variables",
    "mapping",
    "links",
    "callbacks",
    "encoding",
    "patternProperties",
}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
REF = re.compile(r"^#/components/(?P<kind>[^/]+)/(?P<name>[^/]+)$")


def strip_prose(node, *, names_here: bool = False):
    """A copy of `node` without prose; in a named map the keys are names and are all kept."""
    if isinstance(node, list):
        return [strip_prose(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names_here:
        return {key: strip_prose(value) for key, value in node.items()}
    return {
        key: strip_prose(value, names_here=key in NAMED_MAPS)
        for key, value in node.items()
        if key not in PROSE_KEYS and not str(key).startswith("x-")
    }


def references(node) -> set[tuple[str, str]]:
    """Every (component kind, name) that `node` points at with a local $ref."""
    found = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and (match := REF.match(value)):
                found.add((match["kind"], match["name"]))
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def reachable_components(components: dict, roots) -> dict[str, dict]:
    """The components the kept paths reach, followed transitively, in the document's own order."""
    wanted, pending = set(), set(references(roots))
    while pending:
        kind, name = pending.pop()
        if (kind, name) in wanted:
            continue
        wanted.add((kind, name))
        pending |= references(components[kind][name])
    return {
        kind: {name: body for name, body in entries.items() if (kind, name) in wanted}
        for kind, entries in components.items()
        if kind != "securitySchemes" and any((kind, name) in wanted for name in entries)
    } | ({"securitySchemes": components["securitySchemes"]} if "securitySchemes" in components else {})


def give_responses_an_empty_description(paths: dict) -> None:
    """OpenAPI requires every response object to have a description: keep the key, drop its prose."""
    for item in paths.values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                for response in operation.get("responses", {}).values():
                    if "$ref" not in response:
                        response["description"] = ""


def reduce(document: dict, prefixes: list[str]) -> dict:
    paths = {path: item for path, item in document["paths"].items() if path.startswith(tuple(prefixes))}
    if not paths:
        raise SystemExit(f"no path starts with any of {prefixes}")
    reduced = {
        "openapi": document["openapi"],
        "info": {"title": document["info"]["title"], "version": document["info"]["version"]},
    }
    for key in ("servers", "security"):
        if key in document:
            reduced[key] = strip_prose(document[key])
    reduced["paths"] = strip_prose(paths, names_here=True)
    give_responses_an_empty_description(reduced["paths"])
    # Reached from what is left once the prose is gone: components only examples pointed at are dropped too.
    components = strip_prose(document.get("components", {}), names_here=True)
    reduced["components"] = reachable_components(components, reduced["paths"])
    for response in reduced["components"].get("responses", {}).values():
        response["description"] = ""
    return reduced


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Needs the full published document, which is not in this repository; the reduced output is.",
    )
    parser.add_argument("source_file", type=Path, help="the full (bundled) OpenAPI document, YAML or JSON")
    parser.add_argument("output", type=Path, help="where to write the reduced document")
    parser.add_argument(
        "--keep", action="append", required=True, metavar="PREFIX", help="path prefix to keep"
    )
    parser.add_argument("--source", required=True, help="where the full document came from, for the header")
    args = parser.parse_args(argv)

    reduced = reduce(yaml.safe_load(args.source_file.read_text()), args.keep)
    header = (
        f"# Reduced from {args.source}\n"
        f"# by tests/data/reduce_openapi.py: the operations under {', '.join(args.keep)}\n"
        "# and the components they use, without prose or examples. See NOTICE.\n"
    )
    args.output.write_text(header + yaml.safe_dump(reduced, sort_keys=False, width=120, allow_unicode=True))
    print(f"{args.output}: {len(reduced['paths'])} paths", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
