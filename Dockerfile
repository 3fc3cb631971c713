# syntax=docker/dockerfile:1
# Build stage: a virtualenv from the pinned requirements, static files collected at build time.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN python -m venv /opt/venv
COPY requirements.txt .
RUN /opt/venv/bin/pip install --no-cache-dir -r requirements.txt
COPY . .
# collectstatic reads settings, which want a secret when not debugging; this one is thrown away.
RUN DJANGO_SECRET_KEY=collectstatic-only MAISIE_DATA_DIR=/tmp/maisie \
    /opt/venv/bin/python manage.py collectstatic --noinput

# Runtime stage: the venv, the code and the collected static files, run by an unprivileged user.
FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MAISIE_DATA_DIR=/data \
    DJANGO_DEBUG=false
RUN useradd --system --uid 10001 --home-dir /app maisie \
    && mkdir -p /data \
    && chown 10001 /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001 /app /app
WORKDIR /app
USER 10001
EXPOSE 8000
VOLUME ["/data"]
# /healthz answers before host checks and HTTPS redirects, and says only ok or unavailable.
# It asks the port gunicorn binds (GUNICORN_BIND, as gunicorn.conf.py reads it), not always 8000.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('GUNICORN_BIND', ':8000').rpartition(':')[2]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "maisie_site.wsgi:application"]
