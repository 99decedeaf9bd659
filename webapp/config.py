"""Every setting with its default. Overlaid by instance/config.py, then FLASK_* variables."""

DEV_SECRET_KEY = "dev-insecure-key"


class Config:
    SECRET_KEY = None  # generated into instance/secret_key on first run when unset
    SQLALCHEMY_DATABASE_URI = None  # default: sqlite:///<instance>/missive.db
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_BUSY_TIMEOUT_MS = 10_000

    PLATFORM_NAME = "Missive"
    BASE_URL = "http://127.0.0.1:5000"
    LANGUAGES = ("fr", "en")
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"

    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"

    # HTTPS: cookies marked Secure and HSTS sent when PREFERRED_URL_SCHEME is "https" or the
    # app runs in production (neither debug nor testing); FORCE_HTTPS = True/False overrides.
    PREFERRED_URL_SCHEME = "http"
    FORCE_HTTPS = None
    HSTS_SECONDS = 365 * 24 * 3600

    # Request limits: a body larger than this is refused with a 413 page before it is read.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    MAX_QUERY_VALUE_LENGTH = 1000  # each value of a query string
    MAX_QUERY_VALUES = 50

    # A new campaign gets an active acknowledgement-of-receipt trigger.
    DEFAULT_ACKNOWLEDGEMENT_TRIGGER = True
    DEFAULT_ACKNOWLEDGEMENT_TEMPLATE = "Accusé de réception"

    # Mail transport (Flask-Mail names)
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 8025
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    # TLS (MAIL_USE_TLS: STARTTLS; MAIL_USE_SSL: TLS from the first byte) checks the relay's
    # certificate and host name against the system's CAs, or MAIL_CA_FILE (a PEM bundle, e.g.
    # an in-house CA). MAIL_TLS_VERIFY = False turns the check off, for a lab relay only: the
    # worker logs a warning, and anyone on the network path could read or change the mail.
    MAIL_CA_FILE = None
    MAIL_TLS_VERIFY = True
    # The name said in EHLO. None: this host's fully-qualified name, or MAIL_MESSAGE_ID_DOMAIN
    # when the host has no dotted name (smtplib would say `[127.0.0.1]`, which strict relays
    # refuse).
    MAIL_EHLO_NAME = None
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_DEFAULT_SENDER = "Missive <no-reply@missive.example.org>"
    MAIL_SUPPRESS_SEND = False
    MAIL_TIMEOUT_SECONDS = 30
    MAIL_MESSAGE_ID_DOMAIN = "missive.example.org"
    MAIL_MAX_PER_MINUTE = None
    MAIL_REDIRECT_ALL_TO = None
    MAIL_MAX_BODY_BYTES = 512 * 1024

    # Outbox and worker
    OUTBOX_POLL_SECONDS = 2
    OUTBOX_BATCH_SIZE = 500
    OUTBOX_LEASE_SECONDS = 120
    OUTBOX_MAX_ATTEMPTS = 6
    OUTBOX_BACKOFF_SECONDS = (60, 300, 900, 3600, 14400)
    OUTBOX_RETENTION_DAYS = 90
    OUTBOX_PURGE_CRON = "30 3 * * *"

    # Development: start the worker and a mail catcher inside `make run`'s server.
    EMBEDDED_WORKER = False
    DEV_MAIL_CATCHER = False

    # Worker tuning (the outbox drain)
    # Parallel SMTP connections per batch: one connection is bound by round trips.
    OUTBOX_SMTP_CONNECTIONS = 4  # measured on 2 cores: 2 -> 1.0x, 3 -> 1.2x, 4 -> 1.4x, more ~same
    # Messages of a connection whose content may be out before their outcome is committed.
    # 1 (the promise of DESIGN.md): a crash resends at most the message each connection had in
    # flight; the next message's envelope overlaps the commit, so this costs little. More:
    # a SIGKILLed worker may resend up to that many messages per connection (same Message-ID).
    OUTBOX_UNRECORDED_MAX = 1
    OUTBOX_RECORD_LINGER_SECONDS = 0.005  # how long a commit may wait to take more outcomes
    OUTBOX_BACKOFF_JITTER = 0.1  # each delay is scaled by a random factor in [1-j, 1+j]
    OUTBOX_CIRCUIT_BREAKER_FAILURES = 3  # consecutive connection failures that stop a run
    OUTBOX_CIRCUIT_BREAKER_PAUSE_SECONDS = 30  # how long released rows wait after a stop
    OUTBOX_PURGE_BATCH_SIZE = 1000
    OUTBOX_HEARTBEAT_SECONDS = 15
    OUTBOX_WORKER_STALE_SECONDS = 60  # the Outbox page warns when no worker was seen since
    OUTBOX_FAILURE_ALERT_MIN = 5  # failed attempts in the last hour that may raise the banner
    OUTBOX_PAGE_SIZE = 50
    # The Outbox page's counters: exact below this many rows, else kept a few seconds.
    OUTBOX_COUNTERS_EXACT_BELOW = 10_000
    OUTBOX_COUNTERS_CACHE_SECONDS = 5
    OUTBOX_RESEND_STATES = ("sent", "failed", "cancelled")

    # Development mail catcher (`make run`): the port it listens on, on 127.0.0.1.
    DEV_MAIL_CATCHER_PORT = 8025
