# One image for every role: web (gunicorn), worker and beat (celery), and the DigitalOcean emulator.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=settings.production

WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY manage.py ./
COPY settings ./settings
COPY waldur_do ./waldur_do
COPY droplets ./droplets
COPY tasks ./tasks
RUN pip install --no-cache-dir -c constraints.txt . \
    && DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 app && mkdir -p /app/var && chown app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "waldur_do.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
