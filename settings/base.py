"""Settings shared by every environment; everything that differs is read from the environment."""

import os
import re
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# Every process's Prometheus counters live here (waldur_do/metrics.py); set before prometheus_client loads.
PROMETHEUS_MULTIPROC_DIR = Path(env("PROMETHEUS_MULTIPROC_DIR", default=str(VAR_DIR / "metrics")))
PROMETHEUS_MULTIPROC_DIR.mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(PROMETHEUS_MULTIPROC_DIR)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "waldur_do.structure",
    "waldur_do.events",
    "droplets",
    "tasks",
]

MIDDLEWARE = [
    "waldur_do.health.HealthCheckMiddleware",  # first: probes answer whatever the Host header says
    "waldur_do.metrics.MetricsMiddleware",  # counts every answer, the error middleware's included
    # Next: every error under /api/, whichever middleware below gives it, leaves as JSON.
    "waldur_do.api.middleware.ApiErrorMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

AUTH_USER_MODEL = "structure.User"

ROOT_URLCONF = "waldur_do.urls"
# A missing slash under /api/ is a JSON 404, not a redirect that drops a POST body (the admin adds its own).
APPEND_SLASH = False
WSGI_APPLICATION = "waldur_do.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "waldur_do" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The embedded default is SQLite in WAL mode with a busy timeout, so the web, worker and beat processes can
# share one file; production points DATABASE_URL at PostgreSQL.
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
}
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# Keep each process's connection for this many seconds instead of opening one per request (measured: the
# droplet list is 1.4-1.8x faster on PostgreSQL), and check it still works before reusing it.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "static"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "waldur_do.api.authentication.TokenAuthentication",
        "waldur_do.api.authentication.QueryTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON bytes, written by orjson (waldur_do/api/renderers.py).
    "DEFAULT_RENDERER_CLASSES": [
        "waldur_do.api.renderers.OrjsonRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "waldur_do.api.pagination.LinkHeaderPagination",
    "DEFAULT_FILTER_BACKENDS": ["waldur_do.api.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "waldur_do.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "waldur_do.api.exceptions.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "waldur_do.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 10,
    "ORDERING_PARAM": "o",
    "DATETIME_FORMAT": "%Y-%m-%dT%H:%M:%S.%fZ",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "waldur-do API",
    "DESCRIPTION": "Self-hosted DigitalOcean droplet management, compatible with Waldur's droplet API.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "waldur_do.api.schema.describe_field_selection",
        "waldur_do.api.schema.document_uuid_paths",
        "waldur_do.api.schema.add_count_operations",
        "waldur_do.api.schema.add_error_responses",
        "waldur_do.api.schema.add_create_links",
    ],
    "ENUM_NAME_OVERRIDES": {},
}

# Celery. The embedded default uses kombu's filesystem transport: a broker that needs no server, yet still
# delivers tasks between separate web, worker and beat processes (tasks are really asynchronous, not eager).
# kombu warns of a missing hostname on every connection unless the URL names one (the transport ignores it).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://localhost/")
CELERY_BROKER_FOLDER = Path(env("CELERY_BROKER_FOLDER", default=str(VAR_DIR / "broker")))
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
        "polling_interval": 0.2,  # a folder listing is cheap; a whole second per hop is not
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis gives a dead worker's unacknowledged task to another worker after this long (the default is an
    # hour, longer than any operation's deadline). It must exceed the longest countdown a task waits (60 s).
    # A broker that accepts connections but never answers must not hang a request: every socket operation
    # is bounded too, not only the connect.
    else {"visibility_timeout": 600, "socket_timeout": 5, "socket_connect_timeout": 2}
)
# The filesystem transport, with messages written whole before a worker can see them (tasks/broker.py).
CELERY_BROKER_TRANSPORT = "tasks.broker:Transport" if CELERY_BROKER_URL.startswith("filesystem") else None
# A request that enqueues work must not hang on an unreachable broker: fail fast, and the row says why.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
CELERY_TASK_IGNORE_RESULT = True  # outcomes live on the droplet rows, not in a result backend
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # tasks are slow network calls; don't hoard them on one worker
CELERY_TASK_DEFAULT_QUEUE = "default"
# Celery's Django fixup closes every database connection before and after each task unless this is set,
# whatever CONN_MAX_AGE says: each step would open a new PostgreSQL connection (a backend forked, its
# caches filled), which cost the database more CPU than the step's queries. Set this high, the fixup
# (nearly) never closes them, and tasks/celery.py closes them as Django does around a request instead.
CELERY_DB_REUSE_MAX = 1_000_000
# Each task has its queue (tasks/queues.py says why there are three), and workers are run per queue
# (Procfile, docker-compose.yml), so a flood of polls or a long sync never delays a user's request. A
# droplet step that follows DigitalOcean is sent to the polling queue explicitly.
CELERY_TASK_ROUTES = {
    "droplets.advance": {"queue": "default"},
    "tasks.structure.*": {"queue": "default"},
    "tasks.periodic.*": {"queue": "periodic"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Task events (three or four broker messages a task) are off unless asked for: Flower (compose's `ops`
# profile) turns them on in the workers it watches, and `celery -A tasks control enable_events` does too.
CELERY_WORKER_SEND_TASK_EVENTS = env.bool("CELERY_TASK_EVENTS", default=False)
CELERY_TASK_SEND_SENT_EVENT = CELERY_WORKER_SEND_TASK_EVENTS

# DigitalOcean: the API endpoint used when a service settings names none, and the per-request timeout.
DIGITALOCEAN_API_URL = env("DIGITALOCEAN_API_URL", default="https://api.digitalocean.com/v2/")
DIGITALOCEAN_REQUEST_TIMEOUT = env.float("DIGITALOCEAN_REQUEST_TIMEOUT", default=10.0)
# python-digitalocean hides the retry-after of a 429, so a rate-limited call is retried after this long.
DIGITALOCEAN_RATE_LIMIT_RETRY = env.float("DIGITALOCEAN_RATE_LIMIT_RETRY", default=60.0)
# Each token's request budget (droplets/backend/budget.py): DigitalOcean's two limits, the share of each that
# polls and background work leave to users' requests, and the share of the hour background work may spend.
DIGITALOCEAN_BUDGET_PER_MINUTE = env.float("DIGITALOCEAN_BUDGET_PER_MINUTE", default=250)
DIGITALOCEAN_BUDGET_BURST_SECONDS = env.float(
    "DIGITALOCEAN_BUDGET_BURST_SECONDS", default=60
)  # that "minute"
DIGITALOCEAN_BUDGET_PER_HOUR = env.float("DIGITALOCEAN_BUDGET_PER_HOUR", default=5000)
DIGITALOCEAN_BUDGET_POLL_RESERVE = env.float("DIGITALOCEAN_BUDGET_POLL_RESERVE", default=0.05)
DIGITALOCEAN_BUDGET_BACKGROUND_RESERVE = env.float("DIGITALOCEAN_BUDGET_BACKGROUND_RESERVE", default=0.3)
DIGITALOCEAN_BUDGET_BACKGROUND_SHARE = env.float("DIGITALOCEAN_BUDGET_BACKGROUND_SHARE", default=0.3)
# The drift sync of each account runs at most every DROPLET_SYNC_MIN_INTERVAL_SECONDS, and less often for an
# account whose listing would otherwise spend more than DROPLET_SYNC_BUDGET_SHARE of its hourly budget
# (within background work's share, which also pays for catalog pulls).
DROPLET_SYNC_MIN_INTERVAL_SECONDS = env.int("DROPLET_SYNC_MIN_INTERVAL_SECONDS", default=60)
DROPLET_SYNC_BUDGET_SHARE = env.float("DROPLET_SYNC_BUDGET_SHARE", default=0.25)
# Where `make run` finds the bundled emulator; the demo service settings point there.
DEMO_EMULATOR_URL = env("DEMO_EMULATOR_URL", default="http://127.0.0.1:8808/v2/")

# Log lines carry the droplet and Celery task they are about (waldur_do/logs.py): JSON lines with
# LOG_FORMAT=json (production's default), readable text otherwise. Tokens are redacted from every line, the
# runserver's request lines included.
LOG_FORMAT = env("LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "waldur_do.logs.ContextFilter"},
        "redact": {"()": "waldur_do.logs.RedactTokens"},
    },
    "formatters": {
        "text": {"()": "waldur_do.logs.TextFormatter"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s "
            "%(droplet_uuid)s %(backend_id)s %(operation)s %(task_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The runserver's request lines, through the same handler (and so the same redaction).
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# `/metrics` (waldur_do/metrics.py) answers staff, a scraper sending `Authorization: Bearer
# <METRICS_BEARER_TOKEN>`, and any client on METRICS_ALLOWED_NETWORKS (CIDRs, e.g. 10.0.0.0/8).
METRICS_BEARER_TOKEN = env("METRICS_BEARER_TOKEN", default="")
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=[])

# Workers write a heartbeat this often; `/ready/` fails when one of READY_REQUIRES_QUEUES has had no
# worker's heartbeat for WORKER_HEARTBEAT_TIMEOUT.
WORKER_HEARTBEAT_INTERVAL = timedelta(seconds=env.float("WORKER_HEARTBEAT_INTERVAL_SECONDS", default=15))
WORKER_HEARTBEAT_TIMEOUT = timedelta(seconds=env.float("WORKER_HEARTBEAT_TIMEOUT_SECONDS", default=60))
READY_REQUIRES_QUEUES = env.list("READY_REQUIRES_QUEUES", default=["default", "polling", "periodic"])

# How long the event history keeps each event (beat purges older ones every hour).
EVENT_RETENTION = timedelta(days=env.float("EVENT_RETENTION_DAYS", default=90))

# How workers watch DigitalOcean actions: first re-check after POLL_INITIAL seconds, each next one FACTOR
# times later, never more than POLL_MAX apart (a worker is never blocked waiting for an action).
DROPLET_POLL_INITIAL = env.float("DROPLET_POLL_INITIAL", default=2.0)
DROPLET_POLL_FACTOR = env.float("DROPLET_POLL_FACTOR", default=1.5)
DROPLET_POLL_MAX = env.float("DROPLET_POLL_MAX", default=30.0)
# Polls of one account's operations share one look at its latest actions, taken again when it is older than
# this (droplets/observation.py); 0 takes a look for every poll.
DROPLET_POLL_SNAPSHOT_SECONDS = env.float("DROPLET_POLL_SNAPSHOT_SECONDS", default=DROPLET_POLL_INITIAL)
# While an account has several operations in flight, one of them looks at its actions at least this often
# (the look makes the finished ones due): each one's own backoff may be far longer.
DROPLET_POLL_LOOK_EVERY_SECONDS = env.float("DROPLET_POLL_LOOK_EVERY_SECONDS", default=5.0)
# ... and, when many wait for their droplet's final state at once, one look at all the account's droplets,
# for accounts of at most this many droplets (the look is kept whole in the shared store).
DROPLET_POLL_LOOK_MAX_DROPLETS = env.int("DROPLET_POLL_LOOK_MAX_DROPLETS", default=2000)
# Largest accepted cloud-init user_data (DigitalOcean's own limit is 64 KiB).
DROPLET_USER_DATA_MAX_BYTES = 64 * 1024

# How long a stop waits for the guest to shut down before it powers the droplet off.
DROPLET_GRACEFUL_SHUTDOWN = timedelta(seconds=env.float("DROPLET_GRACEFUL_SHUTDOWN_SECONDS", default=120))

# How long each operation may take before it is reconciled from DigitalOcean or fails (docs/operations.md,
# "Deadlines"): each operation's default (droplets/states.py), unless DROPLET_<OPERATION>_DEADLINE_MINUTES
# says otherwise.
DROPLET_DEADLINES = {
    match["operation"].lower(): timedelta(minutes=float(value))
    for name, value in os.environ.items()
    if (match := re.fullmatch(r"DROPLET_(?P<operation>[A-Z]+)_DEADLINE_MINUTES", name))
}
# Past its deadline, an operation nobody follows is failed by beat after this much more.
DROPLET_REAPER_GRACE = timedelta(seconds=env.float("DROPLET_REAPER_GRACE_SECONDS", default=300))
# A droplet on DigitalOcean carrying the tag of a droplet here that tracks another one (a twin) is reported
# by the drift sync; with this on, it is destroyed too.
DROPLET_DESTROY_TWINS = env.bool("DROPLET_DESTROY_TWINS", default=False)
# How long one step of an operation may hold it before beat takes it for lost and sends it on again (a
# step makes a few DigitalOcean calls, each bounded by DIGITALOCEAN_REQUEST_TIMEOUT; the task's hard time
# limit is below this).
DROPLET_STEP_LEASE = timedelta(seconds=env.float("DROPLET_STEP_LEASE_SECONDS", default=120))
# Retries of an operation's first request while DigitalOcean fails passingly (with the poll delays between
# them: about a minute and a half), before the droplet is ERRED with the error.
DROPLET_FIRST_STEP_MAX_RETRIES = env.int("DROPLET_FIRST_STEP_MAX_RETRIES", default=8)
# A request whose answer never came (a create, an action) is not sent again before a look on DigitalOcean has
# had this long to find it: the first may still be landing (DigitalOcean has taken over 10 s to answer).
DROPLET_LANDING_WINDOW = timedelta(seconds=env.float("DROPLET_LANDING_WINDOW_SECONDS", default=60))
