"""The API's lists under load, against the floor: gunicorn on PostgreSQL with the production settings, wrk.

Run from the repo root (`make bench` does):
``DATABASE_URL=postgres://postgres@127.0.0.1:5432/wdo_bench .venv/bin/python -m benchmarks.api_load``

It drops and recreates that database, seeds 1,000 droplets and three catalogs (benchmarks/seed.py), serves
the project with gunicorn as the image does (settings/gunicorn.py, 2 sync workers, the production settings
with persistent connections; benchmarks/settings.py only adds the floor's URLs), and loads it with wrk from
another process, staff's token in the header. Interleaved, round after round, on the same rows:

  (a)  the droplet list, 100 per page, all 52 fields     (d)  the floor for (a): benchmarks/floor.py
  (a') the same at 300 per page                         (d') the floor for (a')
  (b)  100 per page, `field=uuid&field=name&field=state`
  (c)  retrieve one droplet
  and each catalog list (regions, images, sizes) and the event history at 100 per page, each against its
  own floor.

Before loading, it checks that each list and its floor answer the same bytes. It reports requests/s, p50
and p99 latency, and the gunicorn workers' CPU time per request (user + system, from /proc), and the ratios
list/floor by requests/s and by CPU. Goal (issue #11): at most 1.5x for (a) and (a'); (b) cheaper than (a).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from . import server

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/wdo_bench"


def cases(droplet_uuid: str) -> list[tuple[str, str, str | None]]:
    """(label, path, floor label): what is loaded, in the order of each round."""
    droplets = "/api/digitalocean-droplets/"
    return [
        ("(a) list 100", f"{droplets}?page_size=100", "(d) floor 100"),
        ("(d) floor 100", "/bench/floor/droplets/?page_size=100", None),
        ("(a') list 300", f"{droplets}?page_size=300", "(d') floor 300"),
        ("(d') floor 300", "/bench/floor/droplets/?page_size=300", None),
        ("(b) 3 fields 100", f"{droplets}?page_size=100&field=uuid&field=name&field=state", "(d) floor 100"),
        ("(c) retrieve", f"{droplets}{droplet_uuid}/", None),
        *(
            row
            for listing in ("regions", "images", "sizes", "events")
            for row in (
                (f"{listing} 100", f"/api/{_path(listing)}/?page_size=100", f"{listing} floor 100"),
                (f"{listing} floor 100", f"/bench/floor/{listing}/?page_size=100", None),
            )
        ),
    ]


def _path(listing: str) -> str:
    return listing if listing == "events" else f"digitalocean-{listing}"


def prepare_database(database_url: str, droplets: int, env: dict) -> str:
    """Recreates the database, migrates and seeds it; returns the staff token."""
    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], cwd=server.ROOT, env=env, check=True)
    code = (
        f"import django; django.setup(); from benchmarks.seed import seed; print(seed(droplets={droplets}))"
    )
    seeded = subprocess.run(
        [sys.executable, "-c", code], cwd=server.ROOT, env=env, check=True, capture_output=True, text=True
    )
    return seeded.stdout.strip().splitlines()[-1]


def check_bodies(base: str, headers: dict, rows: list) -> None:
    """Each case answers 200, and each list the same bytes as its floor."""
    paths = {label: path for label, path, _ in rows}
    for label, path, floor in rows:
        status, _, body = server.get(base + path, headers)
        if status != 200:
            sys.exit(f"{label}: {path} answered {status}: {body[:300]!r}")
        if floor and not label.startswith("(b)"):
            _, _, floor_body = server.get(base + paths[floor], headers)
            if body != floor_body:
                sys.exit(f"{label} and {floor} differ:\n{body[:400]!r}\n{floor_body[:400]!r}")
            print(f"  {label}: the same {len(body):,} bytes as {floor}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--droplets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=4, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=4, help="wrk's concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    args = parser.parse_args()

    server.require_wrk()
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    if not database_url.startswith("postgres"):
        sys.exit("benchmarks.api_load measures PostgreSQL: set DATABASE_URL=postgres://…")
    env = server.django_env(DATABASE_URL=database_url)
    print(f"seeding {args.droplets} droplets into {database_url.rsplit('/', 1)[1]} …", flush=True)
    token = prepare_database(database_url, args.droplets, env)
    headers = {"Authorization": f"Token {token}", "X-Forwarded-Proto": "https"}

    with tempfile.TemporaryDirectory(prefix="wdo-bench-") as folder:
        folder = Path(folder)
        gunicorn = server.start_gunicorn(env, workers=args.workers, log=folder / "gunicorn.log")
        try:
            _, _, first = server.get(f"{gunicorn.base}/api/digitalocean-droplets/?field=uuid", headers)
            rows = cases(first.split(b'"uuid":"', 1)[1][:32].decode())
            check_bodies(gunicorn.base, headers, rows)
            script = server.write_wrk_script(folder)
            results = {label: [] for label, _, _ in rows}
            for round_number in range(1, args.rounds + 1):
                print(f"round {round_number}/{args.rounds}", flush=True)
                for label, path, _ in rows:
                    before = gunicorn.worker_cpu()
                    figures = server.wrk(
                        gunicorn.base + path,
                        headers,
                        seconds=args.seconds,
                        connections=args.connections,
                        script=script,
                    )
                    figures["cpu_s"] = gunicorn.worker_cpu() - before
                    if figures["errors"] or figures["non2xx"]:
                        sys.exit(f"{label}: {figures}")
                    results[label].append(figures)
        finally:
            gunicorn.stop()
    report(rows, results, args)


def report(rows, results, args) -> None:
    summary = {}
    for label, _, _ in rows:
        runs = results[label]
        requests = sum(r["requests"] for r in runs)
        summary[label] = {
            "rps": statistics.median(r["requests"] / (r["duration_us"] / 1e6) for r in runs),
            "p50": statistics.median(r["p50_us"] for r in runs) / 1000,
            "p99": statistics.median(r["p99_us"] for r in runs) / 1000,
            "cpu_ms": 1000 * sum(r["cpu_s"] for r in runs) / requests,
        }
    print()
    print(
        f"{args.workers} gunicorn workers, wrk -c{args.connections}, {args.rounds} rounds of"
        f" {args.seconds:g} s per case; requests/s and latencies are the median over rounds, CPU is the"
        " workers' total over all rounds / requests"
    )
    print(
        f"{'case':<18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}"
        f" {'x floor rps':>12} {'x floor CPU':>12}"
    )
    for label, _, floor in rows:
        s = summary[label]
        ratios = ""
        if floor:
            f = summary[floor]
            ratios = f"{f['rps'] / s['rps']:>12.2f} {s['cpu_ms'] / f['cpu_ms']:>12.2f}"
        print(f"{label:<18} {s['rps']:>8.1f} {s['p50']:>8.2f} {s['p99']:>8.2f} {s['cpu_ms']:>11.2f} {ratios}")
    a, b = summary["(a) list 100"], summary["(b) 3 fields 100"]
    print(f"\n(b)/(a): {b['cpu_ms'] / a['cpu_ms']:.2f} by CPU, {a['rps'] / b['rps']:.2f} by requests/s")


if __name__ == "__main__":
    main()
