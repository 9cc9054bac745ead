"""tunix-rt settings, read from the environment (see docs/architecture.md#configuration)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from tunix_rt.env import env_bool, env_choice, env_int, env_list, env_paths, env_str, load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent

# A local `.env` (written by `make run` on first start) fills in what the environment
# does not set; TUNIX_RT_ENV_FILE names another file, or "" to read none.
load_env_file(default=BASE_DIR / ".env")

DEBUG = env_bool("DEBUG", False)

_secret = env_str("SECRET_KEY")
if not _secret:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required unless DEBUG is on: set it to 50+ random characters, e.g."
            " export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')\""
        )
    _secret = "insecure-development-key-only-used-with-debug"  # noqa: S105
SECRET_KEY = _secret

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
if not DEBUG and "*" in ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must not contain '*' unless DEBUG is on.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # django.contrib.admin with the site of tunix_rt.admin_site (home dashboard, navigation by task).
    "tunix_rt.admin_site.TunixAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: `runserver` leaves static files to WhiteNoise, as gunicorn does.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Before django_tasks_db: its `db_worker` command also runs the project's maintenance.
    "tunix_rt",
    "django_tasks",
    "django_tasks_db",
    "traces",
    "datasets",
    "training",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tunix_rt.middleware.StaticFilesMiddleware",
    "tunix_rt.middleware.ChunkedBodyMiddleware",
    "tunix_rt.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tunix_rt.urls"
WSGI_APPLICATION = "tunix_rt.wsgi.application"
ASGI_APPLICATION = "tunix_rt.asgi.application"

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
            ],
        },
    },
]


def _database() -> dict[str, object]:
    url = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    try:
        config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=60))
    except Exception as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
    engine = config.get("ENGINE")
    if engine == "django.db.backends.sqlite3":
        config["ENGINE"] = "tunix_rt.db.sqlite"
        config["CONN_MAX_AGE"] = 0
        # Django's default test database, said outright: pytest-xdist then keeps one per worker.
        config["TEST"] = {"NAME": ":memory:"}
        config["OPTIONS"] = {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    elif engine == "django.db.backends.postgresql":
        config["ENGINE"] = "tunix_rt.db.postgresql"
        if env_bool("DATABASE_PREPARED_STATEMENTS", True):
            # Parameters bound by the server, and a statement run 5 times on a connection is
            # prepared there: no parsing and planning per request for the token lookup, the list
            # page or a create (a single create went from ~5.3 to ~4.3 ms). Off behind a pooler
            # that cannot hold prepared statements (PgBouncer before 1.21 in transaction mode).
            config["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
    else:
        raise ImproperlyConfigured(f"DATABASE_URL must point at SQLite or PostgreSQL, got engine {engine!r}.")
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Only `collectstatic` writes here, and nothing needs it: WhiteNoise serves the apps'
# static files (admin, Swagger UI) straight from where the finders see them, under
# gunicorn and `runserver` alike, with DEBUG on or off.
STATIC_ROOT = BASE_DIR / "staticfiles"
WHITENOISE_USE_FINDERS = True

TRACE_MAX_BYTES = env_int("TRACE_MAX_BYTES", 1_048_576)
TRACE_BATCH_MAX = env_int("TRACE_BATCH_MAX", 1000)
TRACE_BATCH_MAX_BYTES = env_int("TRACE_BATCH_MAX_BYTES", 67_108_864)
ARTIFACTS_DIR = Path(env_str("ARTIFACTS_DIR") or BASE_DIR / "artifacts").resolve()
# Directories an API-submitted training config may read model files from (checkpoint, tokenizer).
MODEL_ROOTS = env_paths("MODEL_ROOTS", [ARTIFACTS_DIR / "models"])

# Request bodies are bounded per endpoint by the API's parser; Django's own cap must
# not cut in first with a less precise error.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(TRACE_MAX_BYTES, TRACE_BATCH_MAX_BYTES)

# Long jobs (training, evaluation) run in `python manage.py db_worker`, never in a request.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header turns anonymous requests into 401.
        "tunix_rt.authentication.RoleTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tunix_rt.permissions.RolePermission"],
    "DEFAULT_PARSER_CLASSES": ["tunix_rt.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "tunix_rt.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tunix_rt.negotiation.ContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "tunix_rt.schema.AutoSchema",
    "EXCEPTION_HANDLER": "tunix_rt.exception_handler.handle_exception",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "tunix-rt API",
    "DESCRIPTION": "Reasoning traces, datasets, exports and training runs for Tunix.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["tunix_rt.schema.drop_unavailable_actions"],
    "ENUM_NAME_OVERRIDES": {
        "TraceStatusEnum": "traces.models.TraceStatus",
        "RunStatusEnum": "training.models.RunStatus",
        "CriteriaEnum": "traces.scoring.CRITERIA",
    },
}

LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives "django" its own console handler and lets it
        # propagate to the root one too, which printed every warning twice: keep one handler.
        "django": {"handlers": [], "propagate": True},
        # The training stack logs every checkpoint write at INFO; keep its warnings only.
        **{name: {"level": "WARNING"} for name in ("absl", "jax", "orbax", "tunix", "flax", "qwix")},
    },
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"
    SECURE_CONTENT_TYPE_NOSNIFF = True

# Behind HTTPS: HSTS, redirect plain HTTP, and cookies that never travel unencrypted.
HTTPS_ONLY = env_bool("HTTPS_ONLY", False)
if HTTPS_ONLY:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
# A proxy that terminates TLS says so in X-Forwarded-Proto; trust it only when told to.
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
