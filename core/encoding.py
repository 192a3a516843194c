"""base64url (RFC 4648 §5) and JWK thumbprints (RFC 7638), strict: one spelling per value.

``base64.urlsafe_b64decode`` silently drops characters outside the alphabet
and accepts non-zero trailing bits, so one key would have many spellings (and
a thumbprint of the spelling would differ from the key's). Everything here
refuses those: only the URL-safe alphabet, no impossible length, and the
canonical encoding of the decoded bytes must be the text itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(raw: bytes) -> str:
    """RAW as unpadded base64url text."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def b64url_decode(text: str, *, padding: bool = False) -> bytes:
    """Decode unpadded base64url TEXT (ValueError unless canonical).

    With PADDING, up to two '=' are accepted where the length needs them (as
    PyJWT does for JWS segments, and as operators may paste keys).
    """
    stripped = text.rstrip("=") if padding else text
    if padding and (len(text) - len(stripped) > 2 or (stripped != text and len(text) % 4)):
        raise ValueError("bad base64url padding")
    if len(stripped) % 4 == 1 or not _ALPHABET.fullmatch(stripped):
        raise ValueError("not base64url")
    try:
        raw = base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except binascii.Error as exc:
        raise ValueError("not base64url") from exc
    if b64url_encode(raw) != stripped:
        raise ValueError("not canonical base64url")
    return raw


def jwk_thumbprint(x: str) -> str:
    """RFC 7638 thumbprint of an Ed25519 public JWK with coordinate X."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x},
                           separators=(",", ":"), sort_keys=True)
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())
