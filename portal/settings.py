"""Settings for the 一网通办 portal: one module, read from environment variables.

Every variable, its default and its meaning is listed in README.md ("Configuration"). With nothing set the
portal runs as a development instance: SQLite in var/, a file-system Celery broker, console e-mail and SMS.
With DEBUG off (the default) it refuses to start without SECRET_KEY and FIELD_ENCRYPTION_KEY, so a
production deployment can never run on a development secret.
"""

import json
import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# With nothing set this is a development instance (SQLite, dev secrets). Once a real database is
# configured it is a production one unless DEBUG=1 says otherwise, so a deployment that forgets DEBUG
# never runs in debug mode and fails fast without its secrets.
DEBUG = env.bool("DEBUG", default=not env.str("DATABASE_URL", default=""))

# Development-only fallbacks: never used when DEBUG is off.
_DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production-0123456789"  # noqa: S105
_DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LW5vdC1mb3ItcHJvZCE="  # noqa: S105


def _required(name: str, dev_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DEBUG is off (see README, Configuration).")


SECRET_KEY = _required("SECRET_KEY", _DEV_SECRET_KEY)
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotate by putting a new key first).
FIELD_ENCRYPTION_KEY = _required("FIELD_ENCRYPTION_KEY", _DEV_FIELD_KEY)
# Key for the keyed hashes used to look up encrypted values; defaults to one derived from the first
# encryption key. After changing either, run `manage.py rotate_keys`.
FIELD_HASH_KEY = env.str("FIELD_HASH_KEY", default="")
# Comma-separated url-safe base64 32-byte keys sealing stored files (uploads, issued documents):
# the first seals, all open. Defaults to one derived from the first FIELD_ENCRYPTION_KEY.
FILE_ENCRYPTION_KEY = env.str("FILE_ENCRYPTION_KEY", default="")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django.forms",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    # Before "portal": portal/admin.py replaces its log's admin with a system-admin-only one.
    "auditlog",
    "portal",
    "accounts",
    "services",
    "services.designer",
    "cases",
    "cases.counter",
    "cases.notifications",
    "cases.licences",
    "cases.ratings",
    "cases.transparency",
    "cases.sharing",
    "cases.proactive",
    "cases.hall",
    "cases.payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "portal.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # django-otp's OTPMiddleware with the session's device checked under the access stamp.
    "accounts.second_factor.CachedOTPMiddleware",
    "accounts.second_factor.StaffSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "accounts.staff_sessions.StaffIdleTimeoutMiddleware",
    # After authentication: the audit log names the signed-in user (portal/audit.py).
    "portal.audit.AuditActorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "portal.middleware.NoStoreForAuthenticatedMiddleware",
    # Turns a sign-in refused for its address (too many failures across usernames) into a 429.
    "accounts.sign_in_limit.SignInThrottleMiddleware",
    # Last, as django-axes asks: it turns a lockout raised by authenticate() into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
# Form templates may be overridden in templates/ (the schema-driven application forms are); field
# groups mark Chinese left in an English page (portal/renderers.py).
FORM_RENDERER = "portal.renderers.PortalRenderer"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.portal",
            ],
            # `|zh` marks Chinese left in an English page lang="zh-Hans", in every template.
            "builtins": ["portal.templatetags.zh"],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
# PostgreSQL (psycopg2) when DATABASE_URL is set; otherwise SQLite in WAL mode with IMMEDIATE
# transactions and a busy timeout, so that runserver and the Celery worker of `make run` never meet
# "database is locked".
# DB_JOIN_COLLAPSE_LIMIT: PostgreSQL's join_collapse_limit for this process's connections (0: the
# server's, 8). The web (portal/wsgi.py) sets 1: the planner keeps the ORM's join order, which
# starts from the table queried, and skips searching the others, which cost more than running the
# queries (`make bench-profile`; planning the staff case page's 7-table query took 4.6 ms, running
# it 0.4 ms; 1.3 ms with the order kept). Other processes (Celery, manage.py) keep the server's
# search: their set-based SQL was tuned under it and measured the same either way (`make
# bench-sweep`, 1,000,000 cases, one box and day: 8.5 s with the limit at 1, 9.8 s without), and
# the admin's and commands' ad-hoc ORM queries, filtered across joins, may need it.
JOIN_COLLAPSE_LIMIT = env.int("DB_JOIN_COLLAPSE_LIMIT", default=0)


def _planner_options(database: dict) -> None:
    if JOIN_COLLAPSE_LIMIT > 0 and "postgresql" in database.get("ENGINE", ""):
        options = database.setdefault("OPTIONS", {})
        options["options"] = (
            f"{options.get('options', '')} -c join_collapse_limit={JOIN_COLLAPSE_LIMIT}".strip()
        )


if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db_url("DATABASE_URL")}
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    _planner_options(DATABASES["default"])
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Read replica and router (portal/db_router.py; README "Running on more than one box") ----------
# DATABASE_REPLICA_URL: a PostgreSQL streaming replica of DATABASE_URL. The statistics and the public
# catalog read their public tables there; everything personal, every case and every write stays on the
# primary. Tests point it at the test database itself (TEST MIRROR).
REPLICA_DATABASE = ""
if env.str("DATABASE_REPLICA_URL", default="") and env.str("DATABASE_URL", default=""):
    REPLICA_DATABASE = "replica"
    DATABASES[REPLICA_DATABASE] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES[REPLICA_DATABASE].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES[REPLICA_DATABASE]["CONN_HEALTH_CHECKS"] = True
    DATABASES[REPLICA_DATABASE]["TEST"] = {"MIRROR": "default"}
    _planner_options(DATABASES[REPLICA_DATABASE])
DATABASE_ROUTERS = ["portal.db_router.ReplicaRouter"]

# --- Accounts, sessions and sign-in ---------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # First: an address with too many failed sign-ins across usernames is refused before any
    # password is checked (password spraying), on every path that calls authenticate().
    "accounts.sign_in_limit.AddressThrottleBackend",
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"

# Sessions live in the database, never in Redis: a Redis outage signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)

# Staff sign in with a second factor (TOTP) wherever this is on: on by default in production.
STAFF_2FA = env.bool("STAFF_2FA", default=not DEBUG)
# Setting up an authenticator takes an enrolment code issued by an admin; it is valid this long.
ENROLMENT_CODE_VALID_HOURS = env.int("ENROLMENT_CODE_VALID_HOURS", default=72)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="一网通办")
# A staff session unused for this long is signed out (citizens keep SESSION_COOKIE_AGE).
STAFF_SESSION_IDLE_SECONDS = env.int("STAFF_SESSION_IDLE_SECONDS", default=30 * 60)
# Password spraying: failed sign-ins from one client address, whatever the usernames, before every
# sign-in from it (pages, API, admin) answers 429 for the rest of the window. Counted in the
# `ratelimit` database cache, so the limit holds across web processes.
SIGN_IN_ADDRESS_FAILURE_LIMIT = env.int("SIGN_IN_ADDRESS_FAILURE_LIMIT", default=20)
SIGN_IN_ADDRESS_WINDOW_SECONDS = env.int("SIGN_IN_ADDRESS_WINDOW_MINUTES", default=15) * 60

# Real identity (accounts/identity.py, accounts/sms_codes.py). The identity provider: a dotted path to a
# subclass of accounts.identity.IdentityProvider; the demo provider checks the demo population register
# only, so an instance that keeps it registers nobody else (a deploy check warns).
IDENTITY_PROVIDER = env.str("IDENTITY_PROVIDER", default="accounts.identity.DemoIdentityProvider")


# Registries of other departments (数据共享) that shared materials and form fields are fetched from:
# dotted paths of cases.sharing.registry.Registry subclasses, comma-separated; or a JSON list whose
# entries are such paths or objects configuring an adapter (cases.sharing.http.HttpRegistry: code,
# department_code, name, name_en, fields, field_kinds, url, timeout, token). The demo ones answer
# from the demo tables (a deploy check warns); production (docker-compose.yml) names none by default.
# DATA_REGISTRY_TOKENS (JSON, registry code → bearer token) keeps the tokens apart from the list.
def _data_registries(value: str | None) -> list:
    if value is None:
        return [
            "cases.sharing.demo.HouseholdRegistry",
            "cases.sharing.demo.MarriageRegistry",
            "cases.sharing.demo.SocialInsuranceRegistry",
            "cases.sharing.demo.PropertyRegistry",
        ]
    if not value.strip().startswith("["):
        return [path.strip() for path in value.split(",") if path.strip()]
    try:
        entries = json.loads(value)
        tokens = json.loads(env.str("DATA_REGISTRY_TOKENS", default="") or "{}")
    except ValueError as exc:
        raise ImproperlyConfigured(
            "DATA_REGISTRIES (a JSON list) or DATA_REGISTRY_TOKENS (a JSON object) is not valid "
            "JSON (see README, Configuration)."
        ) from exc
    if not isinstance(entries, list) or not isinstance(tokens, dict):
        raise ImproperlyConfigured(
            "DATA_REGISTRIES in JSON is a list, DATA_REGISTRY_TOKENS an object (see README)."
        )
    for entry in entries:
        if isinstance(entry, dict) and not entry.get("token") and entry.get("code") in tokens:
            entry["token"] = tokens[entry["code"]]
    return entries


# Set but empty (production's default) is no registries; unset (development) the demo ones.
DATA_REGISTRIES = _data_registries(os.environ.get("DATA_REGISTRIES"))
# Fees (cases/payments): the payment provider, a dotted path to a subclass of
# cases.payments.providers.PaymentProvider. The demo provider shows a simulated checkout page on the portal
# and calls back signed like a real gateway; it takes no money, so production warns (cases_payments.W001).
PAYMENT_PROVIDER = env.str(
    "PAYMENT_PROVIDER", default="cases.payments.providers.DemoPaymentProvider"
)
# The demo provider's HMAC key for its callbacks (a real provider has its own settings).
PAYMENT_DEMO_SECRET = env.str(
    "PAYMENT_DEMO_SECRET",
    default="dev-only-demo-payment-secret",  # noqa: S105
)
# Demo registry codes that answer as if down, to try uploading a shared material instead.
DEMO_REGISTRIES_DOWN = env.list("DEMO_REGISTRIES_DOWN", default=[])
# For accounts.identity.HttpIdentityProvider: the identity service's HTTPS endpoint and its token.
IDENTITY_PROVIDER_URL = env.str("IDENTITY_PROVIDER_URL", default="")
IDENTITY_PROVIDER_TOKEN = env.str("IDENTITY_PROVIDER_TOKEN", default="")
IDENTITY_PROVIDER_TIMEOUT = env.float("IDENTITY_PROVIDER_TIMEOUT", default=5.0)
# Text-message codes (短信验证码) for registration, claiming a counter record and a phone change: valid
# this long, void after this many wrong tries; one per phone per SMS_CODE_RESEND_SECONDS, at most
# SMS_CODE_PHONE_LIMIT per phone and SMS_CODE_ADDRESS_LIMIT per client address in SMS_CODE_WINDOW_MINUTES
# (counted in the `ratelimit` database cache, as the sign-in limit is).
SMS_CODE_VALID_SECONDS = env.int("SMS_CODE_VALID_SECONDS", default=5 * 60)
SMS_CODE_MAX_FAILURES = env.int("SMS_CODE_MAX_FAILURES", default=5)
SMS_CODE_RESEND_SECONDS = env.int("SMS_CODE_RESEND_SECONDS", default=60)
SMS_CODE_PHONE_LIMIT = env.int("SMS_CODE_PHONE_LIMIT", default=5)
SMS_CODE_ADDRESS_LIMIT = env.int("SMS_CODE_ADDRESS_LIMIT", default=20)
SMS_CODE_WINDOW_SECONDS = env.int("SMS_CODE_WINDOW_MINUTES", default=60) * 60

# django-axes: lock out by username and address together, so one person's typos never lock out a whole
# counter hall behind one address, and one address cannot lock a citizen out of their account.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Proxies in front of Django that append to X-Forwarded-For (nginx: 1; nginx behind a load balancer: 2).
# The client is the entry that many places from the right of X-Forwarded-For (what the outermost
# trusted proxy saw), as DRF's NUM_PROXIES reads it; entries further left are the client's own claims.
# With none, the client address is REMOTE_ADDR and X-Forwarded-For is ignored, so it cannot be forged.
# Lockouts, sign-in and tracking limits all key on portal.client_address.client_address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "portal.client_address.client_address"
AXES_VERBOSE = False

# django-guardian: object permissions for cases and catalog objects.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# --- Internationalisation --------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static and uploaded files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads are stored outside the web root and served only through permission-checked views.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=10 * 1024 * 1024)
# Quotas (cases/uploads.py check_quotas): documents per application, their bytes, and the bytes one
# person uploads a day (documents reused from file and counter scans do not count towards the last).
UPLOAD_MAX_FILES_PER_CASE = env.int("UPLOAD_MAX_FILES_PER_CASE", default=30)
UPLOAD_MAX_BYTES_PER_CASE = env.int("UPLOAD_MAX_BYTES_PER_CASE", default=100 * 1024 * 1024)
UPLOAD_MAX_BYTES_PER_PERSON_PER_DAY = env.int(
    "UPLOAD_MAX_BYTES_PER_PERSON_PER_DAY", default=300 * 1024 * 1024
)
# Pictures declaring more pixels are refused at upload and never previewed inline for staff.
UPLOAD_MAX_IMAGE_PIXELS = env.int("UPLOAD_MAX_IMAGE_PIXELS", default=40_000_000)
# Working days an applicant has to answer a request for documents (补正) before it is deemed withdrawn.
SUPPLEMENT_ANSWER_WORKING_DAYS = env.int("SUPPLEMENT_ANSWER_WORKING_DAYS", default=10)
# Working days a department has to answer a bad rating (差评整改, DESIGN "Evaluation").
RECTIFICATION_WORKING_DAYS = env.int("RECTIFICATION_WORKING_DAYS", default=5)
# 秒批 (cases/automation.py): the days after an automated decision in which the applicant may ask for
# a person to review it (PIPL art. 24), and the share (%) of automated approvals sampled for a
# post-check (事后核查) when a service sets none of its own.
AUTO_DECISION_REVIEW_DAYS = env.int("AUTO_DECISION_REVIEW_DAYS", default=60)
AUTO_DECISION_SAMPLE_PERCENT = env.int("AUTO_DECISION_SAMPLE_PERCENT", default=10)
# The longest extension of a decision's time limit, in working days (行政许可法 §42: ten more days).
EXTENSION_MAX_WORKING_DAYS = env.int("EXTENSION_MAX_WORKING_DAYS", default=10)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- Storage of uploads and issued documents (cases/uploads.py; README "Running on more than one box")
# Everything stored is sealed (AES-256-GCM) before it reaches the storage. STORAGE_BACKEND=filesystem
# (the default): PRIVATE_MEDIA_ROOT on this box, a volume shared by every web and worker replica if
# there are several. STORAGE_BACKEND=s3: an S3-compatible bucket (pip install '.[s3]'; the image has
# it), private, read only through the portal's permission-checked views.
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="filesystem")
STORAGES = {
    "default": {"BACKEND": "cases.uploads.PrivateFileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {
        "BACKEND": "portal.s3.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("AWS_LOCATION", default="private"),
            # path: MinIO and most S3-compatible stores; virtual: AWS itself.
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path"),
        },
    }
elif STORAGE_BACKEND != "filesystem":
    raise ImproperlyConfigured("STORAGE_BACKEND must be filesystem or s3")

# --- Seals (PAdES signatures of official documents and e-licences; cases/pki.py) --------------------
# SIGNING_DIR holds ca.crt (the roots we trust) and departments/<code>.crt + <code>.key per
# department. A demo instance also holds the demo CA's ca.key (made by `manage.py make_demo_pki`),
# and then issues a seal to a department that has none the first time it signs.
SIGNING_DIR = Path(env.str("PORTAL_SIGNING_DIR", default=str(VAR_DIR / "pki")))
SIGNING_CA_CERT = Path(env.str("PORTAL_SIGNING_CA_CERT", default=str(SIGNING_DIR / "ca.crt")))
SIGNING_KEY_PASSWORD = env.str("PORTAL_SIGNING_KEY_PASSWORD", default="")
SIGNING_ISSUE_DEMO_CERTIFICATES = env.bool("PORTAL_SIGNING_ISSUE_DEMO_CERTIFICATES", default=DEBUG)
# The largest PDF /verify/ accepts for checking.
VERIFY_UPLOAD_MAX_BYTES = env.int("VERIFY_UPLOAD_MAX_BYTES", default=20 * 1024 * 1024)

# --- The audit trail (cases/trail.py) -----------------------------------------------------------------
# The key signing the daily digest of the chain heads (HMAC-SHA256). Unset, it is derived from
# SECRET_KEY; set it in production to a key of its own, so whoever holds SECRET_KEY cannot forge a digest.
TRAIL_DIGEST_KEY = env.str("PORTAL_TRAIL_DIGEST_KEY", default="")

# --- Retention and purge (cases/retention.py; `manage.py purge` and the daily beat task) ---------------
# A draft nobody touched for DRAFT_RETENTION_DAYS is purged (its data and documents removed, its trail
# kept); its applicant is told DRAFT_RETENTION_WARNING_DAYS before, once.
DRAFT_RETENTION_DAYS = env.int("DRAFT_RETENTION_DAYS", default=30)
DRAFT_RETENTION_WARNING_DAYS = env.int("DRAFT_RETENTION_WARNING_DAYS", default=7)
# The words and the address of a delivered message are removed after this many days; the row stays
# (event, channel, state and times) for the figures.
NOTIFICATION_BODY_RETENTION_DAYS = env.int("NOTIFICATION_BODY_RETENTION_DAYS", default=180)

# --- Audit log of catalog, workflow, calendar, staff-role and account changes (django-auditlog) ------
# Every save and delete of these models, in admin, the designer, the API or a command, is logged with
# the signed-in user (portal/audit.py); the log is read-only in admin, for system admins only.
_AUDIT_MASK = "portal.audit.mask"
AUDITLOG_INCLUDE_TRACKING_MODELS = (
    "services.serviceitem",
    {"model": "services.serviceversion", "m2m_fields": ["life_events"]},
    "services.servicematerial",
    "services.legalarticle",
    "services.licencetype",
    "services.workflowdefinition",
    "services.workflowstage",
    "services.workflowtransition",
    "services.calendaryear",
    "services.calendarday",
    "accounts.department",
    "accounts.staffmembership",
    # The service hall's calls, recalls, no-shows and services (cases.hall.queue); the phone
    # page's token is a bearer secret and stays out of the log.
    {"model": "hall.ticket", "exclude_fields": ["token"]},
    # The service hall: centres, their services and windows (admin), and every booking, cancellation
    # and missed visit (cases/hall/booking.py saves each change of an appointment as a model change).
    "hall.servicecentre",
    "hall.centreservice",
    {"model": "hall.window", "m2m_fields": ["services"]},
    "hall.appointment",
    {
        "model": "accounts.user",
        "exclude_fields": ["password", "last_login"],
        "mask_fields": ["email"],
        "mask_callable": _AUDIT_MASK,
        "m2m_fields": ["groups", "user_permissions"],
    },
)
AUDITLOG_MASK_CALLABLE = _AUDIT_MASK

# --- The service hall (cases.hall) ---------------------------------------------------------------
# Tickets the kiosk page issues per client address and window (a kiosk tablet is one address).
HALL_KIOSK_LIMIT = env.int("HALL_KIOSK_LIMIT", default=120)
HALL_KIOSK_WINDOW_SECONDS = env.int("HALL_KIOSK_WINDOW_SECONDS", default=600)

# --- Celery ----------------------------------------------------------------------------------------
# Redis when REDIS_URL or CELERY_BROKER_URL is set; otherwise a file-system broker under var/, so that
# `make run` needs nothing else installed.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost//")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # A deadline is never a long countdown (DESIGN "Notifications"); the timeout only bounds redelivery.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Publishing fails fast when the broker is down: the outbox row stays pending and the requeue
# task below hands it over again, so a request never waits on Redis.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BEAT_SCHEDULE: dict = {
    "requeue-pending-notifications": {
        "task": "cases.tasks.requeue_pending_notifications",
        "schedule": 120.0,
    },
    # Finds what is due and not yet done, so it catches up after any outage.
    "sweep-deadlines": {"task": "cases.tasks.sweep_deadlines", "schedule": 300.0},
    # Public figures (/stats/) of the current and previous month; a full rebuild is a command.
    "refresh-statistics": {"task": "cases.tasks.refresh_statistics", "schedule": 300.0},
    # An approval whose licence was not issued after commit (a crash, an error) gets it here.
    "issue-missing-licences": {"task": "cases.tasks.issue_missing_licences", "schedule": 300.0},
    # Official documents are made (rendered, sealed, stored) once; whatever nobody downloaded yet.
    "make-pending-documents": {"task": "cases.tasks.make_pending_documents", "schedule": 60.0},
    # The day's signed digest of every case's chain head, made once a day: hourly runs catch up
    # after an outage (cases/trail.py).
    "make-trail-digest": {"task": "cases.tasks.make_trail_digest", "schedule": 3600.0},
    # Retention (cases/retention.py): drafts warned and purged, message bodies emptied, closed cases
    # archived after their service's retention period. Set-based and idempotent; daily at night.
    "purge": {"task": "cases.tasks.purge", "schedule": crontab(hour=3, minute=30)},
    # 免申即享 (cases/proactive): who the registries newly show eligible, offered or granted once;
    # set-based and idempotent, daily in the morning (after the registries' nightly updates).
    # Fees (cases/payments): refunds the provider did not confirm yet are asked again; the daily
    # reconciliation of each department (对账) is made for the day before, early in the morning.
    "complete-refunds": {"task": "cases.payments.tasks.complete_refunds", "schedule": 300.0},
    "reconcile-payments": {
        "task": "cases.payments.tasks.reconcile_yesterday",
        "schedule": crontab(hour=2, minute=15),
    },
    "sweep-proactive": {
        "task": "cases.tasks.sweep_proactive",
        "schedule": crontab(hour=6, minute=0),
    },
    # Booked visits (cases/hall/booking.py): reminders from 18:00 the day before, each sent once;
    # bookings nobody came for marked after the centre closes. Both catch up after an outage.
    "remind-appointments": {"task": "cases.tasks.remind_appointments", "schedule": 900.0},
    "mark-no-shows": {"task": "cases.tasks.mark_no_shows", "schedule": 1800.0},
}

# --- E-mail and SMS --------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))  # file-based backend
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="一网通办 <noreply@localhost>")
# Text messages: a class with send(phone, text); the console backend logs them.
SMS_BACKEND = env.str("SMS_BACKEND", default="cases.notifications.sms.ConsoleSMSBackend")
# For cases.notifications.sms.HttpSMSBackend: the gateway's HTTPS endpoint and its token.
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
SMS_SIGNATURE = env.str("SMS_SIGNATURE", default="一网通办")
# First retry of a failed message after this many seconds, doubling up to 30 minutes.
NOTIFICATION_RETRY_BASE_SECONDS = env.int("NOTIFICATION_RETRY_BASE_SECONDS", default=30)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API --------------------------------------------------------------------------------------
# API tokens (django-rest-knox): hashed, expiring, revoked by a password change and refused once
# their holder must use 2FA without having given a code for them. Staff tokens live shorter.
KNOX_TOKEN_MODEL = "accounts.ApiToken"  # noqa: S105 (a model name)
# knox's own migrations would still make its unused knox_authtoken table (they predate swapping):
# with the model swapped out, the app needs no table at all.
MIGRATION_MODULES = {"knox": None}
API_TOKEN_TTL_STAFF = timedelta(hours=env.int("API_TOKEN_TTL_STAFF_HOURS", default=10))
API_TOKEN_TTL_CITIZEN = timedelta(days=env.int("API_TOKEN_TTL_CITIZEN_DAYS", default=30))
REST_KNOX = {"TOKEN_TTL": API_TOKEN_TTL_STAFF, "AUTH_HEADER_PREFIX": "Token", "AUTO_REFRESH": False}
REST_FRAMEWORK = {
    # The token first: its `WWW-Authenticate: Token` makes a missing or invalid token a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # The browsable API only in development: in production the API speaks JSON alone.
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies are checked at the edge: no lone surrogate, NUL, 64-bit overflow or deep nesting.
    "DEFAULT_PARSER_CLASSES": [
        "portal.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "portal.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "portal.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"auth": env.str("AUTH_THROTTLE_RATE", default="30/min")},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "一网通办 portal API",
    "DESCRIPTION": "Services, applications (办件), work queues and counter intake. Errors come as "
    '`{"detail": ..., "errors": {field: [messages]}}`.',
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "SharingOutcomeEnum": "cases.sharing.registry.SHARING_OUTCOMES",
        "SharedMaterialOutcomeEnum": "cases.sharing.registry.SHARED_MATERIAL_OUTCOMES",
        # bundle-applications/ and counter/bundle-applications/ answer with the same states
        "BundleApplicationStateEnum": "cases.models.BundleApplication.State",
    },
}

# --- Cache (issue 20: cached catalog, guides and statistics) ----------------------------------------
# CACHE_URL names the default cache: redis://… (django-redis) or locmem:// (this process's memory).
# Unset, production (DEBUG off) uses REDIS_URL when there is one and development its own memory, so
# `make run` needs nothing installed. Redis errors are ignored (IGNORE_EXCEPTIONS) and short
# timeouts bound each call: a cache outage makes pages uncached, never an error (portal/caching.py).
CACHE_URL = env.str("CACHE_URL", default="") or ("" if DEBUG else env.str("REDIS_URL", default=""))
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "portal",
            "TIMEOUT": env.int("CACHE_TIMEOUT_SECONDS", default=3600),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": env.float("CACHE_CONNECT_TIMEOUT", default=0.25),
                "SOCKET_TIMEOUT": env.float("CACHE_SOCKET_TIMEOUT", default=0.25),
            },
        }
    }
    # An outage is not logged on every call (a traceback per request): /healthz and the counter's
    # degraded banner already report an unreachable Redis.
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = False
else:
    # Local memory: nothing the portal needs to keep serving depends on Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "TIMEOUT": env.int("CACHE_TIMEOUT_SECONDS", default=3600),
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    }
# Counters that must hold across web processes (public case tracking): a table, made by createcachetable.
CACHES["ratelimit"] = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "portal_ratelimit", "OPTIONS": {"MAX_ENTRIES": 50_000}}  # fmt: skip

# --- Security --------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
if not DEBUG:
    # TLS ends at nginx or the load balancer in front of it, which sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# No inline script or style anywhere, and nothing from a CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Logging ---------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
    },
}

PORTAL_NAME = _("One-Stop Government Services")
# Where the portal is reached from outside: links in messages and QR codes on documents.
PORTAL_BASE_URL = env.str(
    "PORTAL_BASE_URL",
    default=f"http://{env.str('PORTAL_HOST', default='127.0.0.1')}:{env.str('PORTAL_PORT', default='8000')}",
).rstrip("/")

# `make bench` only: serves the floor views it compares the portal with (a bare INSERT, a bare
# template, a bare DRF list) and counts each request's queries in X-Bench-Queries (portal/bench.py).
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)
if BENCH_ENDPOINTS:
    MIDDLEWARE = ["portal.bench.QueryCountMiddleware", *MIDDLEWARE]
# `make bench-profile` only (with BENCH_ENDPOINTS): where a request's time goes, by layer.
BENCH_PROFILE = BENCH_ENDPOINTS and env.bool("BENCH_PROFILE", default=False)
if BENCH_PROFILE:
    MIDDLEWARE = ["portal.bench.ProfileMiddleware", *MIDDLEWARE]
