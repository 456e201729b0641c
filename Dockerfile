# syntax=docker/dockerfile:1
# commops: the production image. Build from the repository root:
#   docker build -t commops:0.1.0 .
# Stage 1 builds the wheel, exactly as `pip install .` would; stage 2 installs only that wheel with its runtime
# dependencies and the `postgres` extra (asyncpg). The dev and devtools extras (tests, linters, the sandbox's
# web stack) stay out: `commops shell` and `commops sandbox` say what to install if someone tries them here.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# What the wheel is built from: pyproject.toml (its readme is README.md) and the packages it lists (bot*, handlers*).
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip wheel --no-deps --wheel-dir /dist .

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A fixed, non-root uid/gid, so Kubernetes' runAsNonRoot can check it and volumes can be chowned to it.
RUN groupadd --system --gid 10001 commops \
    && useradd --system --uid 10001 --gid commops --home-dir /data --no-create-home --shell /usr/sbin/nologin commops
COPY --from=build /dist/ /tmp/wheels/
# The wheel by its path (never a name pip could look up on an index), with the postgres extra only. Its
# dependencies come in at the newest versions pyproject.toml's ranges allow (the project keeps no lock file).
# hadolint ignore=DL3013
RUN set -eu; \
    wheel="$(ls /tmp/wheels/commops-*.whl)"; \
    pip install "${wheel}[postgres]"; \
    rm -rf /tmp/wheels
# The working directory holds the default SQLite file (DATABASE_URL unset: sqlite+aiosqlite:///commops.db) and an
# optional .env; it is the one place the bot writes. Mount a volume here to keep a SQLite database across
# containers; with several replicas use PostgreSQL (DATABASE_URL=postgresql+asyncpg://…) instead.
RUN mkdir -p /data && chown commops:commops /data && chmod 0750 /data
WORKDIR /data
# Also HOME, whatever uid the container runs as: asyncpg looks for ~/.pgpass and ~/.postgresql/ certificates, and
# a HOME the bot may not read stops it at start ("Permission denied").
ENV HOME=/data
USER 10001:10001
# 3000: HTTP mode (POST /slack/events, GET /healthz, /readyz, /metrics). 8080: HEALTH_PORT, the same GETs in
# Socket Mode.
EXPOSE 3000 8080
# Liveness with nothing but the image's Python. It asks /healthz on PORT (default 3000), which is right for the
# default, HTTP mode; when SLACK_APP_TOKEN is set (Socket Mode) it asks HEALTH_PORT (default 8080) instead.
# It reads the container's environment only: a mode or port given as a `commops run` flag or in a .env file is
# not seen, so set those as environment variables.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = (os.environ.get('HEALTH_PORT') or '8080') if os.environ.get('SLACK_APP_TOKEN') else (os.environ.get('PORT') or '3000'); urllib.request.urlopen('http://127.0.0.1:%s/healthz' % port, timeout=4)"]
ENTRYPOINT ["commops"]
CMD ["run"]
