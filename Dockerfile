# One image for the four Frontdesk services; SERVICE picks which one the container runs:
#   docker build -t frontdesk .
#   docker run -e SERVICE=cases -e FRONTDESK_HTTP_PORT=8002 ... frontdesk
# Configuration is by environment variables only (runtime/settings.py); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

RUN groupadd --system --gid 10001 frontdesk \
    && useradd --system --uid 10001 --gid frontdesk --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin frontdesk

# The project is installed into site-packages (migrations and schemas are package data);
# the source folder is removed so the process runs the installed code only.
WORKDIR /src
# README.m[d]: the readme pyproject.toml names, copied when it exists (a glob that matches
# nothing is allowed as long as another source of the same COPY matches).
COPY pyproject.toml README.m[d] ./
COPY contracts/ contracts/
COPY runtime/ runtime/
COPY services/ services/
RUN pip install --no-cache-dir . \
    && cd / && rm -rf /src

WORKDIR /app
USER frontdesk

# The service to run (checkin, cases, verification or notifications). Each listens on
# FRONTDESK_HTTP_PORT, or its own default: 8001 checkin, 8002 cases, 8003 verification,
# 8004 notifications. A container must listen on all interfaces to be reachable.
ENV SERVICE=checkin \
    FRONTDESK_HTTP_HOST=0.0.0.0
EXPOSE 8001 8002 8003 8004

HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; port = os.environ.get('FRONTDESK_HTTP_PORT') or {'checkin': 8001, 'cases': 8002, 'verification': 8003, 'notifications': 8004}[os.environ['SERVICE']]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)" || exit 1

# exec: python becomes PID 1 and receives SIGTERM from `docker stop` (graceful shutdown).
CMD ["sh", "-c", "exec python -m \"services.${SERVICE}\""]
