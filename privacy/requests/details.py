"""What a subject may write on a request, checked wherever a request comes from.

Every request may carry a note; a rectification carries the corrected
values instead (at least one of email, name, company, country). The API, the
pages and the privacy officer's entry all pass through ``clean_details``.
"""

from __future__ import annotations

import json
import re

from core.errors import ValidationFailed
from privacy.redaction import redact

RECTIFIABLE = ("email", "name", "company", "country")
NOTE_LENGTH = 2000
VALUE_LENGTH = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_COUNTRY = re.compile(r"[A-Za-z]{2}")


def _refuse(field: str, message: str):
    raise ValidationFailed(errors={field: [message]})


def _text(field: str, value, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        _refuse(field, f"Text of 1..{limit} characters.")
    return value.strip()


def _rectification(details: dict) -> dict:
    unknown = sorted(set(details) - set(RECTIFIABLE))
    if unknown:
        raise ValidationFailed(errors={f: ["Cannot be rectified."] for f in unknown})
    if not details:
        _refuse("details", f"Name at least one of {', '.join(RECTIFIABLE)}.")
    cleaned = {field: _text(field, value, VALUE_LENGTH) for field, value in details.items()}
    if "email" in cleaned and not _EMAIL.fullmatch(cleaned["email"]):
        _refuse("email", "Not a valid email address.")
    if "country" in cleaned:
        if not _COUNTRY.fullmatch(cleaned["country"]):
            _refuse("country", "A two-letter country code.")
        cleaned["country"] = cleaned["country"].upper()
    return cleaned


def clean_details(request_type: str, details: dict | None) -> dict:
    """DETAILS as stored for a request of REQUEST_TYPE, or ValidationFailed."""
    details = dict(details or {})
    if request_type == "rectification":
        return _rectification(details)
    unknown = sorted(set(details) - {"note"})
    if unknown:
        raise ValidationFailed(errors={f: ["Unknown field."] for f in unknown})
    if "note" in details:
        return {"note": _text("note", details["note"], NOTE_LENGTH)}
    return {}


def sealed(details: dict) -> str | None:
    """DETAILS as the vault column holds them."""
    return json.dumps(details, separators=(",", ":")) if details else None


def unsealed(stored: str | None) -> dict:
    """The details a vault column holds."""
    return json.loads(stored) if stored else {}


def masked(details: dict) -> dict:
    """DETAILS for staff lists, which name no person: values reduced to a hint."""
    shown = {}
    for field, value in details.items():
        if field == "email":
            local, _, domain = value.partition("@")
            shown[field] = f"{local[:1]}***@{domain}"
        elif field == "country":
            shown[field] = value
        elif field == "note":
            # The officer needs the subject's words; addresses and codes are scrubbed.
            shown[field] = redact(value)
        else:
            shown[field] = f"({len(value)} characters)"
    return shown
