"""Applications: start, save, submit, change status."""

import base64
import secrets


def new_reference() -> str:
    """A short, unguessable application reference, e.g. MIS-K3VQ7ZP2."""
    return "MIS-" + base64.b32encode(secrets.token_bytes(5)).decode()
