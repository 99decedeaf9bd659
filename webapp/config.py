"""Every setting with its default. Overlaid by instance/config.py, then FLASK_* variables."""

DEV_SECRET_KEY = "dev-insecure-key"


class Config:
    SECRET_KEY = None  # generated into instance/secret_key on first run when unset
    SQLALCHEMY_DATABASE_URI = None  # default: sqlite:///<instance>/missive.db
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_BUSY_TIMEOUT_MS = 10_000  # how long a write waits for another's lock
    # PostgreSQL: how long a connection attempt may take; how long a dead server or network
    # may go unnoticed (TCP keepalives, and unacknowledged data: libpq's tcp_user_timeout);
    # the longest statement the server runs (0: no limit; migrations run without one).
    DATABASE_CONNECT_TIMEOUT_SECONDS = 10
    DATABASE_TCP_TIMEOUT_SECONDS = 30
    DATABASE_STATEMENT_TIMEOUT_SECONDS = 60

    PLATFORM_NAME = "Missive"
    BASE_URL = "http://127.0.0.1:5000"
    LANGUAGES = ("fr", "en")
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"

    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"

    # Accounts. Sessions live in the database: these limits hold whatever a cookie says.
    SESSION_IDLE_MINUTES = 120  # signed out after this long without a request
    SESSION_MAX_HOURS = 12  # and this long after signing in, active or not
    CONFIRMATION_LINK_HOURS = 48
    CONFIRMATION_RESEND_SECONDS = 120  # "send the link again" at most this often
    CONFIRMATION_MAX_PER_DAY = 5  # confirmation emails to one account in 24 hours
    PASSWORD_RESET_LINK_MINUTES = 60
    PASSWORD_RESET_RESEND_SECONDS = 120  # a reset email per account at most this often
    INVITATION_LINK_DAYS = 7
    PASSWORD_MIN_SCORE = 3  # zxcvbn's 0-4 scale: 3 is about 10^8 guesses and more
    # Werkzeug's hashing method for new passwords: "scrypt" is its default, scrypt:32768:8:1
    # (about 64 MB and 50 ms a hash). A hash is checked with the cost it was made with.
    PASSWORD_HASH_METHOD = "scrypt"
    # Failed sign-ins: free attempts, then delays doubling from 2 s up to a minute, then a
    # lock of the password (a sign-in link by email still works); per account (the address
    # typed) and per client address (several people may share one behind a NAT, hence higher
    # limits, and delays only: the address is slowed, never locked).
    SIGN_IN_FREE_FAILURES = 3
    SIGN_IN_LOCK_AFTER = 10
    SIGN_IN_ADDRESS_FREE_FAILURES = 10
    SIGN_IN_ADDRESS_ALERT_AFTER = 50  # audited as an attack from that address
    SIGN_IN_DEVICE_DAYS = 180  # a browser that signed in skips strangers' counts this long
    SIGN_IN_LINK_MINUTES = 15
    # Emails asked for someone else's address (sign-up, "send the link again", "forgot your
    # password?", sign-in link), counted in the database across processes.
    MAIL_PER_CLIENT_PER_HOUR = 10
    MAIL_PER_ADDRESS_PER_DAY = 6
    SIGN_IN_LOCK_MINUTES = 15
    SIGN_IN_FAILURE_WINDOW_HOURS = 24  # failures older than this are forgotten
    # Behind a reverse proxy: how many proxies set X-Forwarded-For (the client address used
    # for throttling and the audit trail). 0 trusts no such header.
    TRUSTED_PROXIES = 0

    # HTTPS: cookies marked Secure and HSTS sent when PREFERRED_URL_SCHEME is "https" or the
    # app runs in production (neither debug nor testing); FORCE_HTTPS = True/False overrides.
    PREFERRED_URL_SCHEME = "http"
    FORCE_HTTPS = None
    HSTS_SECONDS = 365 * 24 * 3600

    # Request limits: a body larger than this is refused with a 413 page before it is read.
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024
    MAX_QUERY_VALUE_LENGTH = 1000  # each value of a query string
    MAX_QUERY_VALUES = 50

    # Documents: where files are kept ("filesystem": STORAGE_PATH, by default
    # <instance>/files, content-addressed), the largest file a campaign may ask for, and the
    # most one application may hold in all. An upload's body past DOCUMENTS_MAX_FILE_MB is
    # refused before it is read; a document's own limit is checked while it is copied.
    STORAGE_BACKEND = "filesystem"
    STORAGE_PATH = None
    DOCUMENTS_MAX_FILE_MB = 20
    DOCUMENTS_MAX_APPLICATION_MB = 50

    # Letters (PDF): the page around every letter. The logo is a PNG or JPEG file the app
    # reads itself (a letter template can name no image); the address and signature may hold
    # several lines.
    LETTER_LOGO_PATH = None
    LETTER_ADDRESS = ""
    LETTER_SIGNATURE = ""
    LETTER_FOOTER = ""

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
    # Attachments: past this size on the wire (bodies and files, x1.37 for base64; 10 MB is
    # the common relay limit), an email carries signed download links valid this many days.
    MAIL_MAX_MESSAGE_BYTES = 10 * 1024 * 1024
    MAIL_ATTACHMENT_LINK_DAYS = 30

    # Delivery after the relay (see README, "Deliverability"). BOUNCE_ADDRESS set: each message
    # leaves with the envelope sender bounces+<signed row reference>@domain, and the bounce job
    # reads that mailbox over IMAP (TLS verified as for the relay) every BOUNCE_POLL_SECONDS.
    BOUNCE_ADDRESS = None
    BOUNCE_IMAP_HOST = None
    BOUNCE_IMAP_PORT = 993
    BOUNCE_IMAP_SSL = True  # TLS from the first byte; False: STARTTLS
    BOUNCE_IMAP_USER = None
    BOUNCE_IMAP_PASSWORD = None
    BOUNCE_IMAP_FOLDER = "INBOX"
    BOUNCE_POLL_SECONDS = 300
    # Soft bounces suppress an address once this many arrive within the window; a soft
    # suppression ends by itself after SUPPRESSION_SOFT_DAYS.
    SUPPRESSION_SOFT_LIMIT = 5
    SUPPRESSION_SOFT_DAYS = 30
    # A message the relay accepted with no bounce after this long reached the address: the
    # soft-bounce count starts again (5 days: how long Postfix retries before it bounces).
    SUPPRESSION_SOFT_QUIET_HOURS = 120
    # An automatic email whose hard bounces pass this share of its last 100 sends is paused.
    BOUNCE_PAUSE_RATE = 0.05
    MAIL_FEEDBACK_ID = "missive"  # the sender's part of Feedback-ID (campaign:email:kind:sender)
    # DKIM signing (all three set): the private key in PEM, the public one published at
    # <selector>._domainkey.<domain>.
    DKIM_DOMAIN = None
    DKIM_SELECTOR = None
    DKIM_PRIVATE_KEY_FILE = None

    # Outbox and worker
    OUTBOX_POLL_SECONDS = 2
    OUTBOX_BATCH_SIZE = 500
    OUTBOX_LEASE_SECONDS = 120
    OUTBOX_MAX_ATTEMPTS = 6
    OUTBOX_BACKOFF_SECONDS = (60, 300, 900, 3600, 14400)
    OUTBOX_RETENTION_DAYS = 90
    # A status change of more than this many applications at once sends its emails at bulk
    # priority: after urgent (account emails, acknowledgements, tests) and normal mail.
    OUTBOX_BULK_THRESHOLD = 20
    OUTBOX_PURGE_CRON = "30 3 * * *"
    # Scheduled reminders: when the worker looks for what is due (crontab, in the platform's
    # time zone, BABEL_DEFAULT_TIMEZONE). Hourly: a reminder leaves within the hour of its moment.
    REMINDERS_CRON = "0 * * * *"

    # Development: start the worker and a mail catcher inside `make run`'s server.
    EMBEDDED_WORKER = False
    DEV_MAIL_CATCHER = False

    # Worker tuning (the outbox drain)
    # The SMTP connections a drain opens (fewer when fewer rows are due): a relay a round trip
    # away needs many (each connection waits two round trips per message). Keep it at or below
    # the relay's limit of concurrent connections per client (Postfix: 50 by default; hosted
    # relays often 10-20), minus other workers' share: past it the relay refuses connections
    # with 421, which opens the circuit breaker. 16 reaches 8x the one-connection rate at 5
    # and 20 ms (make bench).
    OUTBOX_SMTP_CONNECTIONS = 16
    # Messages of a connection whose content may be out before their outcome is committed.
    # 1 (the promise of DESIGN.md): a crash resends at most the message each connection had in
    # flight; the next message's envelope overlaps the commit, so this costs little. More:
    # a SIGKILLed worker may resend up to that many messages per connection (same Message-ID).
    OUTBOX_UNRECORDED_MAX = 1
    # During a long drain, how often urgent rows that became due are claimed ahead of the
    # batches already queued (an indexed query that finds nothing costs well under 1 ms).
    OUTBOX_URGENT_CHECK_SECONDS = 0.5
    OUTBOX_CIRCUIT_BREAKER_FAILURES = 3  # consecutive connection failures that stop a run
    # Then the worker pauses as a whole (no claim at all) this long, doubled each time the
    # few rows it tries after a pause fail again, up to 5 minutes.
    OUTBOX_CIRCUIT_BREAKER_PAUSE_SECONDS = 30
    # When a run stops (error, SIGTERM), how long a connection may finish the message it is in
    # the middle of before its row is released anyway: bounds how long a stop takes.
    OUTBOX_STOP_GRACE_SECONDS = 5
    # Then how long the stopping worker waits for its last writes (outcomes, rows given back)
    # before it exits anyway: a database that does not answer cannot hold a stop. Rows it
    # could not give back return to the queue at its next start, or when their lease expires.
    OUTBOX_STOP_COMMIT_SECONDS = 5
    # The Outbox page warns when a live worker has finished no drain for this long.
    OUTBOX_DRAIN_STALE_SECONDS = 300
    # Rows the purge deletes per transaction. Their entries in the indexes on message_id,
    # dedupe_key and to_addr lie scattered: a batch writes about one leaf page per row and per
    # index once the outbox holds many times the batch, so a small batch makes the time per
    # purged row grow with the outbox: batches of 1,000 write 3.6 pages per purged row out of
    # 100,000 rows, against 1.3 out of 10,000; batches of 5,000 write 1.6. A batch holds
    # SQLite's write lock about a second, well under SQLITE_BUSY_TIMEOUT_MS.
    OUTBOX_PURGE_BATCH_SIZE = 5000
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
