"""Maisie settings: one module, every value from the environment (see docs/deploy.md)."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from maisie_site.env import env_bool, env_choice, env_float, env_int, env_list, env_rate, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("MAISIE_DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY: must be set when DJANGO_DEBUG is false")
    SECRET_KEY = "insecure-development-key-only-for-DEBUG"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "registry",
    "events",
    "django_tasks",
    "django_tasks_db",
    "webhooks",
    "promotions",
    "saved_views",
    "formats",
]

MIDDLEWARE = [
    "maisie_site.timing.ServerTimingMiddleware",
    "maisie_site.request_id.RequestIdMiddleware",
    "maisie_site.health.HealthCheckMiddleware",
    "maisie_site.db_unavailable.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "maisie_site.error_pages.ProductErrorPagesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "maisie_site.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "maisie_site.urls"
WSGI_APPLICATION = "maisie_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "registry.web.context_processors.upload_rights",
            ],
        },
    },
]

# --- Database: SQLite in the data folder unless DATABASE_URL says otherwise.
_default_db = f"sqlite:///{DATA_DIR / 'maisie.sqlite3'}"
try:
    DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _default_db), conn_max_age=60)}
except Exception as exc:  # dj_database_url raises bare ValueErrors / KeyErrors on bad schemes
    raise ImproperlyConfigured(f"DATABASE_URL: cannot parse it: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A writer waits for the lock instead of failing at once when another request writes.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The models table and its indexes are meant to sit in memory, where fetching a page costs
    # about what a few tuples of CPU work do. PostgreSQL's defaults (seq 1, random 4) price a
    # page for a disk; its documentation suggests both near 0.1 for a database that fits in
    # memory. Priced for a disk, the planner intersected a GIN scan of a common value (25,000
    # entries, 3 ms) with a range index rather than read ~1,000 rows (1 ms), e.g. to count
    # "adam and accuracy > 0.9" (docs/performance.md).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = " ".join(
        [
            f"-c seq_page_cost={env_float('MAISIE_PG_SEQ_PAGE_COST', 0.1, minimum=0.01)}",
            f"-c random_page_cost={env_float('MAISIE_PG_RANDOM_PAGE_COST', 0.1, minimum=0.01)}",
            _options.get("options", ""),
        ]
    ).strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "registry:home"
LOGOUT_REDIRECT_URL = "accounts:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files. Model files go through STORAGES only: the file system under the data folder by
# default, S3 (django-storages) when MAISIE_S3_BUCKET is set.
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = None  # model files are only ever served by the permission-checked download view

MAISIE_S3_BUCKET = env_str("MAISIE_S3_BUCKET")
if MAISIE_S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": MAISIE_S3_BUCKET,
            "endpoint_url": env_str("MAISIE_S3_ENDPOINT_URL") or None,
            "region_name": env_str("MAISIE_S3_REGION") or None,
            "access_key": env_str("MAISIE_S3_ACCESS_KEY_ID") or None,
            "secret_key": env_str("MAISIE_S3_SECRET_ACCESS_KEY") or None,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_expire": env_int("MAISIE_S3_PRESIGNED_SECONDS", 300, minimum=1),
            # botocore would presign with the legacy SigV2 in us-east-1 and at custom endpoints,
            # which AWS buckets made since 2020 and several S3-compatible stores refuse.
            "signature_version": "s3v4",
        },
    }
else:
    _default_storage = {
        "BACKEND": "registry.storage.DurableFileSystemStorage",  # fsynced before the row commits
        "OPTIONS": {"location": MEDIA_ROOT, "file_permissions_mode": 0o640},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MAISIE_S3_PRESIGNED_DOWNLOADS = env_bool("MAISIE_S3_PRESIGNED_DOWNLOADS", True)

# Uploads are spooled to disk next to the media folder (so a move into storage is a rename)
# and never held in memory; see registry/uploads.py.
MAISIE_MAX_UPLOAD_BYTES = env_int("MAISIE_MAX_UPLOAD_BYTES", 20 * 1024**3, minimum=1)
# Upload sessions (docs/storage.md, "Upload sessions"): a workspace's quota when the admin set
# none (0: no quota), how long a session lives after its last acknowledged part, and the size of
# its parts (S3 refuses parts under 5 MiB, other than a blob's last).
MAISIE_WORKSPACE_QUOTA_BYTES = env_int("MAISIE_WORKSPACE_QUOTA_BYTES", 0)
MAISIE_UPLOAD_SESSION_TTL = env_int("MAISIE_UPLOAD_SESSION_TTL", 24 * 3600, minimum=60)
MAISIE_UPLOAD_PART_BYTES = env_int("MAISIE_UPLOAD_PART_BYTES", 64 * 1024**2, minimum=5 * 1024**2)
# A request body's budget under gunicorn (maisie_site/transport.py, gunicorn.conf.py): no read
# waits longer than the timeout, and an upload slower on average than the rate (after a first
# timeout's grace) is cut off with 408, so a slow client costs itself, not the site.
MAISIE_BODY_READ_TIMEOUT = env_int("MAISIE_BODY_READ_TIMEOUT", 60, minimum=1)
MAISIE_BODY_MIN_RATE = env_int("MAISIE_BODY_MIN_RATE", 16 * 1024, minimum=1)
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp"
try:
    FILE_UPLOAD_TEMP_DIR.mkdir(parents=True, exist_ok=True)  # Django checks that it exists
except OSError as exc:
    raise ImproperlyConfigured(f"MAISIE_DATA_DIR: cannot create {FILE_UPLOAD_TEMP_DIR}: {exc}") from exc
FILE_UPLOAD_HANDLERS = ["registry.uploads.HashingUploadHandler"]
FILE_UPLOAD_PERMISSIONS = 0o640

# Threads that count a list's total beside its page (maisie_site/paginator.py): one per request
# thread of a gunicorn worker, so concurrent list requests in one process do not queue their counts.
MAISIE_COUNT_THREADS = env_int("GUNICORN_THREADS", 4, minimum=1)

MAISIE_OPEN_REGISTRATION = env_bool("MAISIE_OPEN_REGISTRATION", False)

# --- Invitations and single sign-on (docs/security.md). An invitation link works once, for this
# many days unless its owner chose otherwise (accounts/invitations.py).
MAISIE_INVITATION_DAYS = env_int("MAISIE_INVITATION_DAYS", 7, minimum=1)
# OpenID Connect (accounts/oidc.py): on when an issuer is set; its endpoints come from the
# issuer's /.well-known/openid-configuration, read at the first SSO sign-in.
MAISIE_OIDC_ISSUER = env_str("MAISIE_OIDC_ISSUER").rstrip("/")
MAISIE_OIDC_CLIENT_ID = env_str("MAISIE_OIDC_CLIENT_ID")
MAISIE_OIDC_CLIENT_SECRET = env_str("MAISIE_OIDC_CLIENT_SECRET")
MAISIE_OIDC_CREATE_USERS = env_bool("MAISIE_OIDC_CREATE_USERS", False)
MAISIE_OIDC_DEFAULT_WORKSPACE = env_str("MAISIE_OIDC_DEFAULT_WORKSPACE")  # a workspace's name
MAISIE_OIDC_DEFAULT_ROLE = env_choice("MAISIE_OIDC_DEFAULT_ROLE", "member", ["member", "viewer"])
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if MAISIE_OIDC_ISSUER:
    if not (MAISIE_OIDC_CLIENT_ID and MAISIE_OIDC_CLIENT_SECRET):
        raise ImproperlyConfigured("MAISIE_OIDC_ISSUER: also set MAISIE_OIDC_CLIENT_ID and MAISIE_OIDC_CLIENT_SECRET")
    AUTHENTICATION_BACKENDS.append("accounts.oidc.OIDCBackend")
# Under DEBUG, Django answers a 404 with its technical page (the URL patterns, the lookup that
# failed); the product's own page is shown instead unless this asks for Django's.
MAISIE_DEBUG_TECHNICAL_PAGES = DEBUG and env_bool("MAISIE_DEBUG_TECHNICAL_PAGES", False)

# --- Background work and webhooks (docs/webhooks.md). Tasks are rows in this database
# (django-tasks' database backend), run by `manage.py maisie_worker`: no other service to run.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# Targets on loopback, private, link-local or metadata addresses, and plain http, are refused
# unless this is on (on-premises receivers, the tests).
MAISIE_WEBHOOK_ALLOW_PRIVATE = env_bool("MAISIE_WEBHOOK_ALLOW_PRIVATE", False)
# An attempt's whole budget (connect, send, answer), in seconds.
MAISIE_WEBHOOK_TIMEOUT = env_int("MAISIE_WEBHOOK_TIMEOUT", 10, minimum=1)
# Attempts in flight at once to one target (scheme, host and port), over every worker: below a
# worker's threads (8), so a hanging target never holds them all.
MAISIE_WEBHOOK_MAX_IN_FLIGHT = env_int("MAISIE_WEBHOOK_MAX_IN_FLIGHT", 4, minimum=1)
# Pickle globals an operator trusts besides Maisie's own list (docs/formats.md): comma-separated
# `module.name` prefixes, such as an in-house library's classes (`acme.models`).
MAISIE_PICKLE_SAFE_GLOBALS = env_list("MAISIE_PICKLE_SAFE_GLOBALS", [])
# Where the links in payloads point (e.g. https://maisie.example.com); paths alone when unset.
MAISIE_PUBLIC_URL = env_str("MAISIE_PUBLIC_URL").rstrip("/")

# --- Caches. The sign-in limits count in the "throttle" cache, which every worker of every app
# server must share for a limit to be exact: Redis when MAISIE_REDIS_URL is set, otherwise a
# table in the database (accounts/counters.py: atomic increments, which Django's database and
# file caches do not have). Per-process memory counted once per gunicorn worker.
MAISIE_REDIS_URL = env_str("MAISIE_REDIS_URL")
if MAISIE_REDIS_URL:
    _redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": MAISIE_REDIS_URL}
    CACHES = {"default": _redis, "throttle": _redis}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "throttle": {"BACKEND": "accounts.counters.DatabaseCounterCache"},
    }

# --- API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "accounts.authentication.BearerJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "accounts.permissions.ReadOnlyTokenPermission",
    ],
    "DEFAULT_RENDERER_CLASSES": ["maisie_site.api.EnvelopeJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "maisie_site.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "maisie_site.api.EnvelopePagination",
    "EXCEPTION_HANDLER": "maisie_site.api_errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        "login_ip": env_rate("MAISIE_LOGIN_RATE_PER_IP", "30/min"),
        "login_user": env_rate("MAISIE_LOGIN_RATE_PER_LOGIN", "10/min"),
        "registration": "20/hour",
    },
    # The client address for the per-address limits is REMOTE_ADDR unless the server sits behind
    # this many trusted proxies; otherwise anyone could pick their own X-Forwarded-For.
    "NUM_PROXIES": env_int("MAISIE_NUM_PROXIES", 0),
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
JWT_LIFETIME = timedelta(seconds=env_int("MAISIE_JWT_SECONDS", 3600, minimum=60))
# Creating an API token or registering an SSH key needs a password or SSH sign-in this recent
# (a JWT's auth_time, a browser session's sign-in); an API token can never (accounts/recent.py).
MAISIE_RECENT_SIGN_IN_SECONDS = env_int("MAISIE_RECENT_SIGN_IN_SECONDS", 600, minimum=10)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": JWT_LIFETIME,
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # A token carries a digest of the password hash it was issued under, so changing or resetting
    # a password cuts off every JWT issued before, as it does the other browser sessions.
    "CHECK_REVOKE_TOKEN": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Maisie API",
    "DESCRIPTION": "A registry for trained machine-learning models.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "maisie_site.openapi.wrap_in_envelope",
    ],
}

# --- Security headers that cost nothing in development either.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Production speaks HTTPS, usually through a TLS-terminating proxy that says so in
# X-Forwarded-Proto. Each knob can be turned off for a plain-HTTP setup (benchmarks on loopback).
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
if env_bool("DJANGO_BEHIND_TLS_PROXY", not DEBUG):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# One JSON object per line, each with the request id (also sent back as X-Request-ID).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "maisie_site.request_id.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("MAISIE_LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]),
    },
}
