"""The drain's settings, read once per run from the app config: one value both the sending
code and the run read, so neither imports the other for it."""

import functools
import socket
from dataclasses import dataclass
from email.utils import formataddr


@functools.cache
def default_ehlo_name(fallback_domain: str) -> str:
    """The host's fully-qualified name when it has one, else `fallback_domain` (the domain of
    the Message-IDs): smtplib would say `[127.0.0.1]` for a host without a dotted name, which
    strict relays refuse."""
    name = socket.getfqdn()
    if "." in name and not name.startswith("localhost"):
        return name
    return fallback_domain


@dataclass(frozen=True)
class Settings:
    """The drain's settings: app config (Flask-Mail's MAIL_* names) with per-call overrides."""

    server: str
    port: int
    use_tls: bool
    use_ssl: bool
    username: str | None
    password: str | None
    timeout: float
    default_sender: str
    suppress: bool
    redirect_all_to: str | None
    max_per_minute: int | None
    batch_size: int
    connections: int
    breaker_failures: int
    breaker_pause: float
    lease_seconds: float
    unrecorded_max: int
    urgent_check: float
    stop_grace: float
    ca_file: str | None = None
    tls_verify: bool = True
    ehlo_name: str | None = None
    bounce_address: str | None = None  # VERP: envelope sender bounces+<ref>@domain
    secret_key: str = ""  # signs the VERP reference
    feedback_id: str = ""  # the sender's part of Feedback-ID
    dkim_domain: str | None = None
    dkim_selector: str | None = None
    dkim_private_key_file: str | None = None

    CONFIG_KEYS = {
        "server": "MAIL_SERVER", "port": "MAIL_PORT", "use_tls": "MAIL_USE_TLS",
        "use_ssl": "MAIL_USE_SSL", "username": "MAIL_USERNAME", "password": "MAIL_PASSWORD",
        "timeout": "MAIL_TIMEOUT_SECONDS", "default_sender": "MAIL_DEFAULT_SENDER",
        "suppress": "MAIL_SUPPRESS_SEND", "redirect_all_to": "MAIL_REDIRECT_ALL_TO",
        "max_per_minute": "MAIL_MAX_PER_MINUTE", "batch_size": "OUTBOX_BATCH_SIZE",
        "connections": "OUTBOX_SMTP_CONNECTIONS",
        "breaker_failures": "OUTBOX_CIRCUIT_BREAKER_FAILURES",
        "breaker_pause": "OUTBOX_CIRCUIT_BREAKER_PAUSE_SECONDS",
        "lease_seconds": "OUTBOX_LEASE_SECONDS",
        "unrecorded_max": "OUTBOX_UNRECORDED_MAX",
        "urgent_check": "OUTBOX_URGENT_CHECK_SECONDS",
        "stop_grace": "OUTBOX_STOP_GRACE_SECONDS",
        "ca_file": "MAIL_CA_FILE", "tls_verify": "MAIL_TLS_VERIFY", "ehlo_name": "MAIL_EHLO_NAME",
        "bounce_address": "BOUNCE_ADDRESS", "secret_key": "SECRET_KEY",
        "feedback_id": "MAIL_FEEDBACK_ID", "dkim_domain": "DKIM_DOMAIN",
        "dkim_selector": "DKIM_SELECTOR", "dkim_private_key_file": "DKIM_PRIVATE_KEY_FILE",
    }

    @classmethod
    def from_config(cls, config, overrides: dict | None = None) -> "Settings":
        """Settings from the app config; `overrides` use config names (MAIL_PORT=...)."""
        merged = {**config, **(overrides or {})}
        values = {name: merged.get(key) for name, key in cls.CONFIG_KEYS.items()}
        sender = values["default_sender"]
        if isinstance(sender, tuple | list):
            values["default_sender"] = formataddr(tuple(sender))
        values["connections"] = max(1, int(values["connections"] or 1))
        values["batch_size"] = max(1, int(values["batch_size"]))
        values["unrecorded_max"] = max(1, int(values["unrecorded_max"] or 1))
        values["tls_verify"] = values["tls_verify"] is not False  # off only when said so
        values["ehlo_name"] = values["ehlo_name"] or default_ehlo_name(
            merged.get("MAIL_MESSAGE_ID_DOMAIN") or "") or None
        values["secret_key"] = str(values["secret_key"] or "")
        values["feedback_id"] = values["feedback_id"] or ""
        return cls(**values)
