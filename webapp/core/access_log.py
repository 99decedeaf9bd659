"""Access logs name the route of an emailed link, never its token: whoever reads the logs
(or the log collector) must not be able to confirm an address, reset a password or sign in.
Filters the development server's log ("werkzeug") and gunicorn's access log."""

import logging
import re

# /auth/confirm/<token>, /auth/reset/<token>, /auth/invitation/<token>, /auth/link/<token>
# ("/auth/confirm/resend" is a route of its own, with no secret).
TOKEN_PATH = re.compile(r"(/auth/(?:confirm|reset|invitation|link)/)(?!resend\b)[^\s/?\"']+")
LOGGERS = ("werkzeug", "gunicorn.access")


def redact(text: str) -> str:
    return TOKEN_PATH.sub(r"\1<token>", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_FILTER = RedactTokens()


def install() -> None:
    """Add the filter to the access loggers (once, however many apps are built)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
