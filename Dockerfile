# syntax=docker/dockerfile:1
#
# One image for every Python process of the portal: web (gunicorn, the default CMD), the Celery worker
# and beat, and one-shot management commands (migrate, createsuperuser ...). See docker-compose.yml and
# deploy/README-production.md. All configuration comes from environment variables (portal/settings.py);
# nothing secret is baked into the image.
#
# Layout inside the image:
#   /app                    the source tree (read-only for the app user); PYTHONPATH points here
#   /app/static-collected   STATIC_ROOT: static files collected at build time by `collectstatic`
#   /var/lib/portal         VAR_DIR, owned by the app user (Celery beat schedule ...)
#   /var/lib/portal/private PRIVATE_MEDIA_ROOT: private uploads, a volume in production
#   /srv/static             empty mount point, owned by the app user, where the compose `static-init`
#                           service copies /app/static-collected into the volume nginx serves

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DJANGO_SETTINGS_MODULE=portal.settings \
    PYTHONPATH=/app \
    VAR_DIR=/var/lib/portal \
    STATIC_ROOT=/app/static-collected \
    PRIVATE_MEDIA_ROOT=/var/lib/portal/private

# Runtime libraries only: psycopg2-binary brings its own libpq, and every other dependency ships wheels.
# Pango (+ HarfBuzz subsetting) and the Noto CJK fonts are for WeasyPrint (receipts, e-licences);
# poppler-utils renders the first page of uploaded PDFs as previews for caseworkers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fonts-noto-cjk \
        poppler-utils \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --create-home --home-dir /home/portal \
        --shell /usr/sbin/nologin portal

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so that this layer is reused while only the code changes.
# With the `s3` extra (django-storages, boto3): STORAGE_BACKEND=s3 needs nothing more.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['s3']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .

# `pip install .` (dependencies are already satisfied, so this only builds and installs the project).
# The processes still import the code from /app (PYTHONPATH and the working directory come first on
# sys.path): settings.BASE_DIR must be /app so that templates/, static/ and locale/ are found.
RUN pip install . \
    && rm -rf build ./*.egg-info

RUN install -d -o portal -g portal -m 0755 /var/lib/portal /srv/static \
    && install -d -o portal -g portal -m 0700 /var/lib/portal/private

# Static files are collected at build time into STATIC_ROOT=/app/static-collected. DEBUG=0 needs a
# SECRET_KEY and a FIELD_ENCRYPTION_KEY: throwaway values exist for this one command only (they are not
# ENV, so they are in no layer's configuration and never reach a running container).
RUN DEBUG=0 \
    SECRET_KEY=build-only \
    FIELD_ENCRYPTION_KEY="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput

USER portal

EXPOSE 8000

# `exec` replaces the shell, so that gunicorn itself receives SIGTERM from `docker stop` and shuts down
# gracefully. WEB_CONCURRENCY sets the number of workers.
CMD ["sh", "-c", "exec gunicorn portal.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --access-logfile -"]
