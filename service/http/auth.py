"""API tokens: made here, stored only as SHA-256 digests."""

import hashlib
import secrets


def new_token():
    # The prefix lets secret scanners recognise a leaked token, and a token
    # never starts with "-" (which a command line would take for an option).
    return "wcs_" + secrets.token_urlsafe(32)


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def bearer_token(header):
    """The token of an 'Authorization: Bearer <token>' header, or None."""
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
