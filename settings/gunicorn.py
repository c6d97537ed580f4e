"""gunicorn's configuration in the image (`gunicorn waldur_do.wsgi --config settings/gunicorn.py`)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Requests that hold a worker longer than this are killed and logged; DigitalOcean is never called inline.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = "-"
# The path without its query string, and no Referer: a client may authenticate with `?x-auth-token=`, and
# that token must never reach a log.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms "%(a)s"'
