"""Fails with a clear sentence when a port `make run` needs is taken, before anything starts half-way."""

import socket

from django.core.management.base import BaseCommand, CommandError


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers themselves bind: a port left in TIME_WAIT by the last run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Command(BaseCommand):
    help = "Check that the given TCP ports are free on 127.0.0.1."

    def add_arguments(self, parser):
        parser.add_argument("ports", nargs="+", type=int)

    def handle(self, *args, ports, **options):
        taken = [port for port in ports if not port_is_free(port)]
        if taken:
            raise CommandError(
                f"Port {', '.join(map(str, taken))} already in use on 127.0.0.1. "
                "Pick free ones, e.g. `make run PORT=8123 EMULATOR_PORT=8124`."
            )
