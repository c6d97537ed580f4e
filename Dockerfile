# One image for every role: web (gunicorn), worker and beat (celery), and the DigitalOcean emulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=settings.production \
    PROMETHEUS_MULTIPROC_DIR=/var/lib/waldur-do/metrics

WORKDIR /app

# The dependencies first, from the tested set, so that a change to the code alone reuses this layer.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt

COPY README.md manage.py ./
COPY settings ./settings
COPY waldur_do ./waldur_do
COPY droplets ./droplets
COPY tasks ./tasks
RUN pip install --no-cache-dir --no-deps . \
    && DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 app && mkdir -p /app/var "$PROMETHEUS_MULTIPROC_DIR" \
    && chown app /app/var "$PROMETHEUS_MULTIPROC_DIR"
USER app

EXPOSE 8000
# settings/gunicorn.py: bind, WEB_CONCURRENCY workers, and an access log that never shows a query string.
CMD ["gunicorn", "waldur_do.wsgi", "--config", "settings/gunicorn.py"]
