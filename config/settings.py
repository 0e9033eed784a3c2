"""Settings, read from the environment (12-factor).

Development and the embedded default: ``DEBUG=1``; the database is a SQLite file in the
project and Celery runs tasks eagerly. Production: ``DEBUG`` off; ``SECRET_KEY``,
``ALLOWED_HOSTS`` and ``DATABASE_URL`` must be set, or start-up fails naming the missing
variable. See ``docs/adr/0002-settings-from-the-environment.md``.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

PRODUCTION_REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL")


def _required_in_production(name: str, development_default: str) -> str:
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return development_default
    raise ImproperlyConfigured(
        f"The environment variable {name} must be set when DEBUG is off "
        f"(production). Required in production: {', '.join(PRODUCTION_REQUIRED)}."
    )


SECRET_KEY = _required_in_production(
    "SECRET_KEY", "django-insecure-development-only-key-never-use-in-production"
)
ALLOWED_HOSTS = [
    h.strip()
    for h in _required_in_production("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
DATABASES = {
    "default": environ.Env.db_url_config(
        _required_in_production("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves several people at once: readers never wait for the
    # writer (WAL), a writer takes its lock when its transaction starts (no deadlocked
    # upgrade from read to write) and waits up to 20 s for another's.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

# Form widgets are drawn from the project's templates too (the NHS.UK date input).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.forms",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "systems",
    "oversight",
    "delegation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "config.context_processors.site",
                "systems.context_processors.access",
                "oversight.context_processors.notices",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

# Argon2 for new passwords; PBKDF2 hashes still verify (and are upgraded at next sign-in).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
LOGIN_URL = "systems:login"
LOGIN_REDIRECT_URL = "systems:start"  # each role's own starting page
LOGOUT_REDIRECT_URL = "systems:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Collected files (production). In development files are served from the app folders.
_static_root = env.str("STATIC_ROOT", default="")
STATIC_ROOT = Path(_static_root) if _static_root else (None if DEBUG else BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Security (production hardening; `manage.py check --deploy` is clean with DEBUG off) ---
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Celery ---
# Unset broker: tasks run eagerly in the calling process (tests and one-off commands).
# ``filesystem://``: the embedded broker of ``make run`` (Kombu's filesystem transport, no
# server): messages are files under EMBEDDED_QUEUE_DIR, read by the worker that
# ``manage.py run_embedded`` starts beside the web server (docs/adr/0020).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
EMBEDDED_BROKER = CELERY_BROKER_URL.startswith("filesystem://")
EMBEDDED_QUEUE_DIR = Path(env.str("EMBEDDED_QUEUE_DIR", default=str(BASE_DIR / ".queue")))
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = (
    env.str(
        "CELERY_RESULT_BACKEND",
        default="" if EMBEDDED_BROKER else (CELERY_BROKER_URL or "cache+memory://"),
    )
    or None
)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
# A task whose worker process dies (killed, out of memory) goes back on the queue instead of
# being lost: the upload and segmentation tasks resume from where they stopped.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A message not acknowledged within this time (its worker's main process died) is delivered
# again: longer than any task takes (a national upload and its runs: well under a minute),
# short enough that nothing waits hours. The sweeper below acts sooner still.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=30 * 60),
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
}
if EMBEDDED_BROKER:
    for folder in ("messages", "processed", "control"):
        (EMBEDDED_QUEUE_DIR / folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(EMBEDDED_QUEUE_DIR / "messages"),
        "data_folder_out": str(EMBEDDED_QUEUE_DIR / "messages"),
        "processed_folder": str(EMBEDDED_QUEUE_DIR / "processed"),
        # Kombu keeps its exchange tables here (by default a "control" folder wherever
        # the process was started).
        "control_folder": str(EMBEDDED_QUEUE_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Queuing a task while the broker is down gives up after about two seconds: the upload is
# kept and the sweeper queues it once the broker is back (docs/adr/0018).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# The sweeper: uploads never queued, or with no progress for UPLOAD_STALLED_AFTER_SECONDS,
# are queued again (up to UPLOAD_MAX_ATTEMPTS, then failed with the reason); runs left
# running by a process that died are recorded as interrupted.
SWEEP_EVERY_SECONDS = env.int("SWEEP_EVERY_SECONDS", default=5 * 60)
UPLOAD_QUEUE_GRACE_SECONDS = env.int("UPLOAD_QUEUE_GRACE_SECONDS", default=30)
UPLOAD_MAX_ATTEMPTS = env.int("UPLOAD_MAX_ATTEMPTS", default=3)
RUN_STUCK_AFTER_SECONDS = env.int("RUN_STUCK_AFTER_SECONDS", default=15 * 60)
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-work": {
        "task": "oversight.tasks.sweep_stuck_work",
        "schedule": SWEEP_EVERY_SECONDS,
    },
    # Each morning, one e-mail to each person who chose the daily digest.
    "send-daily-digests": {
        "task": "oversight.tasks.send_daily_digests",
        "schedule": crontab(hour=7, minute=0),
    },
    # Signed delegation agreements come into force on their start date; finished ones end.
    "advance-delegation-agreements": {
        "task": "delegation.tasks.advance_agreements",
        "schedule": 60 * 60 * 6,
    },
}

# Throttle counters (and anything else cached). Set CACHE_URL (e.g. redis://host:6379/1)
# when several web processes must share them.
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}

# Failed sign-ins for one user name from one address before further attempts are refused,
# and for how long (systems/sign_in.py).
SIGN_IN_ATTEMPTS = env.int("SIGN_IN_ATTEMPTS", default=5)
SIGN_IN_LOCKOUT_SECONDS = env.int("SIGN_IN_LOCKOUT_SECONDS", default=900)
# Failures for one user name from any address, and from one address for any names.
SIGN_IN_ACCOUNT_ATTEMPTS = env.int("SIGN_IN_ACCOUNT_ATTEMPTS", default=20)
SIGN_IN_ADDRESS_ATTEMPTS = env.int("SIGN_IN_ADDRESS_ATTEMPTS", default=50)

# --- REST framework: /api/v1/ (plumbing in api/, routes in config/api_urls.py; docs/adr/0009) ---
# JSON and CSV; the browsable API (HTML pages for exploring the API) only in development.
API_RENDERERS = [
    "rest_framework.renderers.JSONRenderer",
    *(["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "api.renderers.CSVRenderer",
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasPermission"],
    "DEFAULT_RENDERER_CLASSES": API_RENDERERS,
    "DEFAULT_FILTER_BACKENDS": [
        "api.filters.StrictFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.PagePagination",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "api.negotiation.StrictContentNegotiation",
    "PAGE_SIZE": 100,
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerTokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "token": env.str("API_THROTTLE_TOKEN", default="1200/min"),
        "user": env.str("API_THROTTLE_USER", default="1200/min"),
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
    },
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
CSRF_FAILURE_VIEW = "api.errors.csrf_failure"
SPECTACULAR_SETTINGS = {
    "TITLE": "NHS Oversight Framework API",
    "DESCRIPTION": (
        "Organisations, methodologies, metric values, segmentation runs, assessments, "
        "league tables and explanations. Authenticate with `Authorization: Bearer <token>` "
        "(tokens are issued by the national team) or a browser session. Errors answer "
        '`{"errors": [{"field", "message", "code"}]}`.'
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OrganisationKindEnum": "systems.models.OrganisationKind",
        "InputKindEnum": "oversight.models.InputKind",
        "UploadFormatEnum": "oversight.models.UploadFormat",
        "CompactStatusEnum": "oversight.compacts.models.CompactStatus",
        "CommitmentStatusEnum": "oversight.compacts.models.CommitmentStatus",
        "CommitmentDirectionEnum": "oversight.compacts.models.Direction",
        "SupportRequestStatusEnum": "oversight.compacts.models.SupportStatus",
        "CommitmentTrackEnum": "oversight.compacts.models.TrackStatus",
    },
}

# --- Logging: one line per event to stderr ---
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Product settings ---
# Where the health check looks for the broker; empty means "eager mode, no broker".
HEALTHCHECK_BROKER_TIMEOUT = env.float("HEALTHCHECK_BROKER_TIMEOUT", default=2.0)
SITE_NAME = "NHS Oversight Framework"
# The address people reach the service at, for links in e-mails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# E-mail: printed on the console in development; SMTP (EMAIL_HOST, EMAIL_PORT,
# EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS) otherwise.
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="oversight@localhost")
# Metric uploads: the largest file accepted, the most an .xlsx may expand to (zip bombs are
# refused before they are opened), and how long an upload may show no progress before it
# is reported as stalled and can be retried.
METRIC_UPLOAD_MAX_BYTES = env.int("METRIC_UPLOAD_MAX_BYTES", default=50 * 1024 * 1024)
METRIC_UPLOAD_MAX_UNCOMPRESSED_BYTES = env.int(
    "METRIC_UPLOAD_MAX_UNCOMPRESSED_BYTES", default=500 * 1024 * 1024
)
# The shape of a file: checked before its cells are parsed, each refused at once with the
# limit and where it was passed.
METRIC_UPLOAD_MAX_ROWS = env.int("METRIC_UPLOAD_MAX_ROWS", default=2_000_000)
METRIC_UPLOAD_MAX_COLUMNS = env.int("METRIC_UPLOAD_MAX_COLUMNS", default=100)
METRIC_UPLOAD_MAX_CELL_CHARS = env.int("METRIC_UPLOAD_MAX_CELL_CHARS", default=5_000)
METRIC_UPLOAD_MAX_NOTE_CHARS = env.int("METRIC_UPLOAD_MAX_NOTE_CHARS", default=1_000)
UPLOAD_STALLED_AFTER_SECONDS = env.int("UPLOAD_STALLED_AFTER_SECONDS", default=15 * 60)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
