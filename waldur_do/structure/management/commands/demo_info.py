"""Prints where the demo runs and how to log in, in one block a newcomer can find again (`make token`)."""

import signal
import time
import urllib.error
import urllib.request

from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from .seed_demo import DEMO_PASSWORD, DEMO_USERNAME

RULE = "=" * 78


def demo_info_block(*, port: int, token: str) -> str:
    base = f"http://127.0.0.1:{port}"
    return "\n".join(
        [
            RULE,
            f"  waldur-do is up at {base}/",
            f"  API:    {base}/api/",
            f"  Docs:   {base}/api/docs/",
            f"  Admin:  {base}/admin/   (login {DEMO_USERNAME} / {DEMO_PASSWORD})",
            f"  Token:  {token}",
            "  Try it (in another terminal, in this folder):",
            f"    export TOKEN={token}",
            f'    .venv/bin/http :{port}/api/projects/ "Authorization: Token $TOKEN"',
            "  `make token` prints this again.",
            RULE,
        ]
    )


def wait_until_serving(url: str, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    return False


class Command(BaseCommand):
    help = "Print the demo's URLs, admin login and API token (with --wait: once the API answers, then idle)."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="the port the API listens on")
        parser.add_argument(
            "--wait",
            action="store_true",
            help="wait for the API to answer, print, then stay running (a process of `make run`)",
        )

    def handle(self, *args, port, wait, **options):
        token = Token.objects.filter(user__username=DEMO_USERNAME).values_list("key", flat=True).first()
        if token is None:
            raise CommandError("No demo user yet: `make run` creates it.")
        if wait and not wait_until_serving(f"http://127.0.0.1:{port}/health/", timeout=120):
            self.stderr.write(f"The API did not answer on port {port} within 2 minutes; see the web lines.")
        self.stdout.write(demo_info_block(port=port, token=token))
        if wait:
            # honcho stops every process when one exits, so this one stays until honcho ends it.
            self.stdout.flush()
            while True:
                signal.pause()
