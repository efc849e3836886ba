# Production image: gunicorn as a non-root user, static files collected, DEBUG off.
# Run with at least DJANGO_SECRET_KEY, DATABASE_URL and DJANGO_ALLOWED_HOSTS set.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic needs settings to load; the build-only key never reaches the running image.
RUN DJANGO_DEBUG=1 DJANGO_SECRET_KEY=collectstatic-only-not-a-runtime-key \
    python manage.py collectstatic --no-input -v 0 \
    && rm -f .env \
    && useradd --system --uid 10001 --home /app ractory \
    && chown -R ractory /app

USER ractory
ENV DJANGO_DEBUG=0 \
    LOG_FORMAT=json \
    PORT=8000
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --no-input && exec gunicorn -c python:ractory.gunicorn_config ractory.wsgi:application --bind 0.0.0.0:${PORT}"]
