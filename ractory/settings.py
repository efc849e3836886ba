"""Every setting of the service, read from the environment in this one place.

The defaults give the embedded mode (SQLite in ``db.sqlite3``, in-process rate-limit counters,
a generated development secret key), so ``make run`` works with nothing set. ``DATABASE_URL``
switches to PostgreSQL and ``REDIS_URL`` to Redis. The README lists every variable.
"""

import os
import secrets
import sys
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from ractory.api.logging import TEXT_FORMAT

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


DEBUG = env_bool("DJANGO_DEBUG", True)

# --- Secret key -------------------------------------------------------------------------------
# Production (DEBUG off) refuses to start without a real key from the environment. In development
# a key is generated once into .env (git-ignored) so sessions and tokens survive restarts.
DEV_ENV_FILE = BASE_DIR / ".env"
DEV_KEY_PREFIX = "dev-insecure-"


def _development_secret_key() -> str:
    if DEV_ENV_FILE.exists():
        for line in DEV_ENV_FILE.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "DJANGO_SECRET_KEY" and value.strip():
                return value.strip()
    key = DEV_KEY_PREFIX + secrets.token_urlsafe(48)
    with DEV_ENV_FILE.open("a") as env_file:
        env_file.write(f"DJANGO_SECRET_KEY={key}\n")
    warnings.warn(
        f"DJANGO_SECRET_KEY is not set: generated a development key into {DEV_ENV_FILE.name}. "
        "Set a real key in production.",
        stacklevel=1,
    )
    return key


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0 (production mode).")
    SECRET_KEY = _development_secret_key()
elif not DEBUG and (len(SECRET_KEY) < 32 or SECRET_KEY.startswith(DEV_KEY_PREFIX)):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY is too weak for production: use at least 32 random characters.")

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver" if DEBUG else "").split(
        ","
    )
    if host.strip()
]

# --- Applications -----------------------------------------------------------------------------
INSTALLED_APPS = [
    "tenants.apps.TenantsAdminConfig",  # django.contrib.admin, its login throttled like the API's
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "ractory",
    "tenants",
    "assemblies",
    "sync",
]

MIDDLEWARE = [
    # Outermost: gives every response its request id and turns Django-level failures that
    # happen before a view runs (bad host, oversize body) into problem documents.
    "ractory.api.middleware.RequestIdMiddleware",
    # Liveness answers here, before the Host check and everything else, so it depends on none of them.
    "ractory.api.middleware.LivenessMiddleware",
    "ractory.api.middleware.ProblemMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "ractory.urls"
WSGI_APPLICATION = "ractory.wsgi.application"
APPEND_SLASH = False  # collection paths answer with and without the slash themselves

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
DB_STATEMENT_TIMEOUT_MS = env_int("DB_STATEMENT_TIMEOUT_MS", 30_000)
# A database that does not answer gives 503s within seconds, not hung workers:
# connecting gives up after DB_CONNECT_TIMEOUT_SECONDS (libpq takes no less than 2), TCP keepalives
# and tcp_user_timeout drop a connection whose peer is gone, and the watchdog
# (ractory/api/database_watchdog.py) checks the server with a new connection when a query has
# waited DB_WATCHDOG_SECONDS, closing the waiting connections when that fails.
DB_CONNECT_TIMEOUT_SECONDS = env_int("DB_CONNECT_TIMEOUT_SECONDS", 2, minimum=2)
DB_WATCHDOG_SECONDS = env_int("DB_WATCHDOG_SECONDS", 1, minimum=1)
DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()

if DATABASE_URL:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _options = _database.setdefault("OPTIONS", {})
        # Parameters given in DATABASE_URL's query string win over these.
        _options.setdefault("connect_timeout", DB_CONNECT_TIMEOUT_SECONDS)
        _options.setdefault("keepalives", 1)
        _options.setdefault("keepalives_idle", 10)
        _options.setdefault("keepalives_interval", 2)
        _options.setdefault("keepalives_count", 3)
        _options.setdefault("tcp_user_timeout", 10_000)
        _options["options"] = f"-c statement_timeout={DB_STATEMENT_TIMEOUT_MS}"
else:
    _database = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        "OPTIONS": {
            # WAL lets readers work while a sync writes; IMMEDIATE takes the write lock at BEGIN,
            # so two writers queue instead of failing on a lock upgrade.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "tenants.User"
# Emails are unique case-insensitively (a functional index), which only our backend knows.
AUTHENTICATION_BACKENDS = ["tenants.backends.EmailBackend"]
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

JWT_ACCESS_MINUTES = env_int("JWT_ACCESS_MINUTES", 15, minimum=1)
JWT_REFRESH_DAYS = env_int("JWT_REFRESH_DAYS", 7, minimum=1)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=JWT_REFRESH_DAYS),
    # Rotation and revocation are ours (tenants.IssuedRefreshToken); simplejwt's token_blacklist
    # app is not installed because it stores every refresh token in plain text.
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Tokens name users by their public guid; the internal id never leaves the server.
    "USER_ID_FIELD": "guid",
    "USER_ID_CLAIM": "user_guid",
    "LEEWAY": 0,
}

# --- Limits -----------------------------------------------------------------------------------
SYNC_MAX_ITEMS = env_int("SYNC_MAX_ITEMS", 1000, minimum=1)
MAX_BODY_BYTES = env_int("MAX_BODY_BYTES", 32 * 1024 * 1024, minimum=1024)
# Refused by the service (414, 431) rather than by gunicorn, whose own limits are set above these.
# Below gunicorn's request-line limit (8190 bytes with the method and protocol), so the service
# answers a URL over it itself.
MAX_URL_BYTES = env_int("MAX_URL_BYTES", 8000, minimum=1024)
MAX_HEADER_BYTES = env_int("MAX_HEADER_BYTES", 16 * 1024, minimum=1024)
MAX_JSON_DEPTH = env_int("MAX_JSON_DEPTH", 32, minimum=2)
MAX_PICTURE_BYTES = env_int("MAX_PICTURE_BYTES", 5 * 1024 * 1024, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_BODY_BYTES
RATE_LIMIT_PER_MINUTE = env_int("RATE_LIMIT_PER_MINUTE", 600, minimum=1)
RATE_LIMIT_COMPANY_PER_MINUTE = env_int("RATE_LIMIT_COMPANY_PER_MINUTE", 5 * RATE_LIMIT_PER_MINUTE, minimum=1)
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
# The reverse proxies in front of the service, whose X-Forwarded-For is believed for the client's
# address (per-IP budgets); the same variable gunicorn reads. Empty: the peer address is the client.
FORWARDED_ALLOW_IPS = frozenset(
    address.strip() for address in os.environ.get("FORWARDED_ALLOW_IPS", "").split(",") if address.strip()
)
RATE_LIMIT_KEY_PREFIX = os.environ.get("RATE_LIMIT_KEY_PREFIX", "ractory:ratelimit").strip()
# Login throttling: failures per account (email) within a window, attempts per client IP.
LOGIN_FAILURES_PER_ACCOUNT = env_int("LOGIN_FAILURES_PER_ACCOUNT", 10, minimum=1)
LOGIN_FAILURE_WINDOW_SECONDS = env_int("LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1)
LOGIN_ATTEMPTS_PER_IP_PER_MINUTE = env_int("LOGIN_ATTEMPTS_PER_IP_PER_MINUTE", 20, minimum=1)
# A key's last_used_at is written at most this often, so authentication stays read-only.
API_KEY_LAST_USED_RESOLUTION = timedelta(minutes=1)

# --- REST framework ---------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.ApiKeyAuthentication",
        "tenants.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["ractory.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "ractory.api.schema.ProblemAwareAutoSchema",
    "EXCEPTION_HANDLER": "ractory.api.exception_handler.problem_exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": False,
    "STRICT_JSON": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Ra Factory API",
    "DESCRIPTION": (
        "Multi-tenant ERP-to-factory sync service. Ractory API under /api/v1/ "
        "(sync, reads, auth, administration) and the Eryxon MES API at /api-{entity}/, also served "
        "under /functions/v1/ (/functions/v1/api-jobs/sync is /api-jobs/sync) for Eryxon's own clients. "
        "Errors are RFC 9457 problem documents (application/problem+json) under /api/, and Eryxon's "
        'envelope {"success": false, "error": {…}} (application/json) under /api-* and /functions/v1/.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "tenants.roles.Role.choices",
        "JobStatusEnum": "assemblies.models.JobStatus.values",
        "OperationStatusEnum": "assemblies.models.OperationStatus.values",
        "ResourceStatusEnum": "assemblies.models.ResourceStatus.values",
        "ResourceTypeEnum": "assemblies.models.ResourceType.values",
    },
    "SORT_OPERATIONS": False,
    "PREPROCESSING_HOOKS": [
        "ractory.api.schema.drop_trailing_slash_duplicates",
        "ractory.api.schema.drop_eryxon_functions_alias",
        "ractory.api.schema.order_each_paths_methods",
    ],
}

# --- Static files, i18n -----------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve app static files in development without collectstatic
# Before the first collectstatic there is no STATIC_ROOT; the finders serve everything meanwhile.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Security ---------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging ----------------------------------------------------------------------------------
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in {"text", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}.")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "ractory.api.logging.RequestIdFilter"},
        "tracebacks_only": {"()": "ractory.api.logging.TracebacksOnlyFilter"},
    },
    "formatters": {
        "text": {"format": TEXT_FORMAT},
        "json": {"()": "ractory.api.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": sys.stderr,
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own console handler (DEBUG only) would print a second, unformatted line.
        "django": {"handlers": [], "propagate": True},
        # Django logs every 4xx as a warning with the path; our own access log says it better.
        "django.request": {"level": "ERROR", "filters": ["tracebacks_only"]},
        "django.server": {"level": "ERROR"},
    },
}
