"""One schemathesis run (`st run`, in a process of its own) against a live server, and what it found.

In the suite a run is deterministic (`--generation-deterministic`: the same requests every time) and short;
`make fuzz` sets WDO_FUZZ_MAX_EXAMPLES higher and WDO_FUZZ_SEED to explore new inputs, printing the seed so
that a failure it finds can be replayed (`make fuzz FUZZ_SEED=<seed>`); WDO_FUZZ_TIMEOUT bounds a run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Every check schemathesis has, but two that judge the schema's constraints rather than the server's answers:
# negative_data_rejection wants a 4xx for anything the schema does not allow (DRF takes the number 7 for a
# string, as Waldur does), positive_data_acceptance a 2xx for anything it allows (a hyperlink is a `uri` in
# the schema, and only the server knows which URIs name an object the user may see).
EXCLUDED_CHECKS = ("negative_data_rejection", "positive_data_acceptance")
# In the suite: a few minutes on two shared cores for both roles, and still over a thousand requests each.
DEFAULT_MAX_EXAMPLES = 6


def max_examples(default: int = DEFAULT_MAX_EXAMPLES) -> int:
    return int(os.environ.get("WDO_FUZZ_MAX_EXAMPLES") or default)


@dataclass
class Outcome:
    requests: int  # HTTP requests schemathesis sent and checked
    operations_tested: int
    failures: list[dict]
    errors: list[dict]
    report: dict
    output: str

    def explain(self) -> str:
        """The console report of the run: each failure with its curl command to reproduce it."""
        return self.output[-30000:]


def run(
    schema: str,
    *,
    base_url: str | None = None,
    headers: dict[str, str] | None = None,
    bodies: dict | None = None,
    report_dir: Path,
    examples: int | None = None,
    phases: tuple[str, ...] = (),
    extra_args: tuple[str, ...] = (),
    timeout: float | None = None,
) -> Outcome:
    """`schema` is the schema's URL or a file (then `base_url` says where the API is)."""
    report_dir.mkdir(parents=True, exist_ok=True)
    json_report, events = report_dir / "report.json", report_dir / "events.ndjson"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(Path(__file__).with_name("schemathesis.toml")),
        "run",
        schema,
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--max-examples",
        str(examples or max_examples()),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "json,ndjson",
        "--report-json-path",
        str(json_report),
        "--report-ndjson-path",
        str(events),
        "--warnings",
        "off",
    ]
    seed = os.environ.get("WDO_FUZZ_SEED")
    command += ["--seed", seed] if seed else ["--generation-deterministic"]
    if phases:
        command += ["--phases", ",".join(phases)]
    if base_url:
        command += ["--url", base_url]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    command += list(extra_args)
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.fuzzing.hooks",
        "WDO_FUZZ_BODIES": json.dumps(bodies or {}),
    }
    # From the repository's root, where the hooks module is importable.
    timeout = timeout or float(os.environ.get("WDO_FUZZ_TIMEOUT") or 900)
    finished = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = finished.stdout + finished.stderr
    if not json_report.is_file():
        raise RuntimeError(f"schemathesis wrote no report (exit {finished.returncode}):\n{output[-5000:]}")
    report = json.loads(json_report.read_text())
    return Outcome(
        requests=_count_requests(events),
        operations_tested=report["operations"]["tested"],
        failures=report["failures"],
        errors=report["errors"],
        report=report,
        output=output,
    )


def _count_requests(events: Path) -> int:
    count = 0
    for line in events.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if finished:
            count += len(finished["recorder"].get("interactions", {}))
    return count


def emulator_spec(source: Path, served: set[tuple[str, str]], target: Path) -> Path:
    """DigitalOcean's spec (the project's copy) cut to the operations the emulator serves, written to
    `target`: schemathesis then holds the emulator to exactly those, and checks a 405's `Allow` against
    the methods it serves rather than against the ones it leaves out on purpose (docs/emulator.md). Links
    that name an operation the spec does not have (DigitalOcean's `sshKeys_get_by_id`, …) are dropped."""
    import yaml

    spec = yaml.safe_load(source.read_text())
    for path, item in list(spec["paths"].items()):
        for method in [m for m in item if (m.upper(), path) not in served and isinstance(item[m], dict)]:
            if "operationId" in item[method]:
                del item[method]
        if not any(isinstance(op, dict) and "operationId" in op for op in item.values()):
            del spec["paths"][path]
    operation_ids = {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }
    named_links = spec.get("components", {}).get("links", {})

    def drop_dangling_links(node):
        if isinstance(node, list):
            for item in node:
                drop_dangling_links(item)
        if not isinstance(node, dict):
            return
        links = node.get("links")
        if isinstance(links, dict) and links and all(_is_link(link) for link in links.values()):
            for name, link in list(links.items()):
                if "$ref" in link:
                    link = named_links.get(link["$ref"].rsplit("/", 1)[-1], {})
                if link.get("operationId") not in operation_ids:
                    del links[name]
            if not links:
                del node["links"]
        for value in node.values():
            drop_dangling_links(value)

    drop_dangling_links(spec)
    target.write_text(yaml.safe_dump(spec, sort_keys=False))
    return target


def _is_link(node) -> bool:
    """An OpenAPI link (or a reference to one), not a schema property that happens to be called `links`."""
    return isinstance(node, dict) and (
        "operationId" in node or str(node.get("$ref", "")).startswith("#/components/links/")
    )
