"""How the droplet list scales: SQL queries and time per page for page_size 10, 100 and 300.

Run from the repo root: ``DJANGO_SETTINGS_MODULE=settings.test .venv/bin/python -m benchmarks.droplet_list``
(add DATABASE_URL=postgres://… for PostgreSQL). It builds a throw-away test database, seeds 300 droplets
in one project, and requests `/api/digitalocean-droplets/` through the whole Django + DRF stack as a
project member (so visibility filtering is in the query). Target: a constant number of queries (≤ 4)
whatever the page size.
"""

import argparse
import statistics
import time

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

PAGE_SIZES = (10, 100, 300)


def seed(count: int):
    from droplets.models import Droplet, Image, Region, Size
    from droplets.states import RuntimeState, State
    from tests.fixtures.factories import client_for, make_project, make_service_settings, make_user
    from waldur_do.structure.models import ProjectRole

    project = make_project()
    service_settings = make_service_settings(customer=project.customer)
    region = Region.objects.create(service_settings=service_settings, backend_id="nyc1", name="New York 1")
    image = Image.objects.create(
        service_settings=service_settings, backend_id="debian-12-x64", name="12 x64", distribution="Debian"
    )
    size = Size.objects.create(
        service_settings=service_settings,
        backend_id="s-1vcpu-1gb",
        name="s-1vcpu-1gb",
        cores=1,
        ram=1024,
        disk=25600,
        transfer=1024 * 1024,
    )
    Droplet.objects.bulk_create(
        Droplet(
            name=f"web-{index:03d}",
            project=project,
            service_settings=service_settings,
            region=region,
            image=image,
            size=size,
            state=State.OK,
            runtime_state=RuntimeState.ONLINE,
            backend_id=str(1000 + index),
            external_ips=[f"192.0.2.{index % 250 + 1}"],
            internal_ips=[f"10.0.0.{index % 250 + 1}"],
        )
        for index in range(count)
    )
    member = make_user()
    ProjectRole.objects.create(user=member, project=project, role=ProjectRole.Role.MEMBER)
    return client_for(member)


def measure(client, page_size: int, rounds: int) -> tuple[int, float]:
    url = f"/api/digitalocean-droplets/?page_size={page_size}"
    client.get(url)  # warm-up
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200 and len(response.json()) == page_size, response.status_code
    # Counted now: each request resets Django's query log. BEGIN/COMMIT come from ATOMIC_REQUESTS.
    statements = [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("BEGIN", "COMMIT"))]
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
    return len(statements), statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--droplets", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()

    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        client = seed(args.droplets)
        print(f"database: {connection.vendor}, droplets: {args.droplets}, rounds: {args.rounds}")
        print(f"{'page_size':>9}  {'queries':>7}  {'median ms':>9}  {'ms per droplet':>14}")
        for page_size in PAGE_SIZES:
            count, median = measure(client, page_size, args.rounds)
            print(f"{page_size:>9}  {count:>7}  {median:>9.1f}  {median / page_size:>14.3f}")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
