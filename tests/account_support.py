"""Helpers for account tests: the link an account email carried, read from the SMTP server."""

import re
from html import unescape

from jobs.drain import drain_once

BASE_URL = "http://missive.test"


def received_link(app, smtp, to: str, path: str) -> tuple[str, object]:
    """Drain the outbox, take the one email sent to `to`, and return its link to `path` (the
    path and query, without the configured BASE_URL) with the message."""
    drain_once(app)
    [message] = smtp.to(to)
    smtp.reset()
    text = message.message.get_body(("plain",)).get_content()
    html = message.message.get_body(("html",)).get_content()
    link = re.search(rf"{re.escape(BASE_URL)}({re.escape(path)}[^\s)\"<]+)", text).group(1)
    assert f'href="{BASE_URL}{link}"' in unescape(html)
    return link, message


def sign_up(client, data: dict, **kwargs):
    """Sign up, then sign in with the password chosen (sign-up itself signs nobody in: it
    answers the same whether or not the address has an account)."""
    response = client.post("/auth/signup", data=data, **kwargs)
    client.post("/auth/login", data={"email": data["email"], "password": data["password"]})
    return response
