"""How fast the emulator lists droplets: GET /v2/droplets?per_page=200 with 10,000 droplets loaded.

Run from the repo root: ``.venv/bin/python -m benchmarks.emulator_list``. Target: median <= 15 ms per page
on a 2-core machine, so the emulator is never the bottleneck of the reconciliation benchmarks. Requests go
over a real socket to the threaded server through one requests.Session, as python-digitalocean does; the
time runs until the body is read, and excludes the client decoding the JSON (not the emulator's cost).
"""

from __future__ import annotations

import argparse
import statistics
import time

import requests

from droplets.emulator.config import EmulatorConfig
from droplets.emulator.core import EmulatorCore
from droplets.emulator.server import BackgroundServer
from droplets.emulator.wsgi import EmulatorApp

SIZES = ("s-1vcpu-1gb", "s-1vcpu-2gb", "s-2vcpu-4gb")
STATUSES = ("active", "active", "active", "off")


def load_fleet(core: EmulatorCore, count: int) -> None:
    for index in range(count):
        core.seed_droplet(
            name=f"bench-{index:05d}",
            size=SIZES[index % len(SIZES)],
            status=STATUSES[index % len(STATUSES)],
            tags=["bench", f"shard-{index % 8}"],
        )


def time_page(session: requests.Session, url: str, page: int, rounds: int) -> list[float]:
    params = {"per_page": 200, "page": page}
    for _ in range(5):  # warm-up: connection, caches
        session.get(url, params=params, timeout=10).raise_for_status()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = session.get(url, params=params, timeout=10)
        response.raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--droplets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    # No burst limit: the benchmark itself sends far more than 250 requests a minute.
    core = EmulatorCore(EmulatorConfig(burst_limit=0, rate_limit=1_000_000))
    started = time.perf_counter()
    load_fleet(core, args.droplets)
    print(f"loaded {args.droplets} droplets in {time.perf_counter() - started:.2f} s")
    pages = -(-args.droplets // 200)
    with BackgroundServer(EmulatorApp(core)) as server, requests.Session() as session:
        session.headers["Authorization"] = "Bearer benchmark"
        url = f"{server.base_url}/v2/droplets"
        for page in (1, pages // 2 + 1):
            samples = sorted(time_page(session, url, page, args.rounds))
            p95 = samples[max(0, round(len(samples) * 0.95) - 1)]
            print(
                f"GET /v2/droplets?per_page=200&page={page}: median {statistics.median(samples):.2f} ms, "
                f"p95 {p95:.2f} ms over {len(samples)} requests"
            )


if __name__ == "__main__":
    main()
