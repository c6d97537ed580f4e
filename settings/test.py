"""Test runs: SQLite unless DATABASE_URL says otherwise, fast hashing, no calls out of this machine."""

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# A file, not ":memory:", so that a Celery worker in another process can open the same test database.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}

# Each test starts from fresh connections: the live server's threads must not keep one across tests.
DATABASES["default"]["CONN_MAX_AGE"] = 0

# Nothing in a test may reach the real DigitalOcean: a service settings without backend_url goes nowhere.
DIGITALOCEAN_API_URL = "http://127.0.0.1:9/v2/"
DIGITALOCEAN_REQUEST_TIMEOUT = 5.0
