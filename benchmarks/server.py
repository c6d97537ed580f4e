"""What the load benchmarks share: a database to seed, gunicorn serving the project, wrk loading it."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRK_HINT = (
    "wrk, the HTTP load generator, is needed: `apt-get install wrk` on Debian or Ubuntu"
    " (`brew install wrk` on macOS), then run the benchmark again."
)
# wrk's Lua hook: one JSON line with the figures of the run (latencies in microseconds).
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "errors": %d, "non2xx": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit(WRK_HINT)
    return wrk


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def django_env(**extra) -> dict:
    """The benchmark server's environment: production settings, their required secrets, plain HTTP behind a
    proxy that says HTTPS (the requests carry X-Forwarded-Proto, as behind a TLS-terminating proxy)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DJANGO_SECRET_KEY": "benchmark-only-secret-key",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        **extra,
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def worker_cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.workers())

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_gunicorn(env: dict, *, workers: int, log: Path) -> Gunicorn:
    """gunicorn as the image runs it (settings/gunicorn.py) with `workers` sync workers, once it answers."""
    port = free_port()
    server_env = {**env, "PORT": str(port), "WEB_CONCURRENCY": str(workers)}
    command = [sys.executable, "-m", "gunicorn", "waldur_do.wsgi", "--config", "settings/gunicorn.py"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=server_env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    server = Gunicorn(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited:\n{log.read_text()}")
        try:
            urllib.request.urlopen(f"{server.base}/health/", timeout=2).read()
            if len(server.workers()) == workers:
                return server
        except OSError:  # not listening yet, or busy starting
            pass
        time.sleep(0.2)
    server.stop()
    sys.exit(f"gunicorn did not answer:\n{log.read_text()}")


def get(url: str, headers: dict) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wrk(url: str, headers: dict, *, seconds: float, connections: int, script: Path) -> dict:
    """One wrk run (one thread); its figures, as the report script prints them."""
    command = [
        require_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    line = next(line for line in output.splitlines() if line.startswith("WRK "))
    return json.loads(line[4:])


def write_wrk_script(folder: Path) -> Path:
    script = folder / "report.lua"
    script.write_text(WRK_REPORT)
    return script
