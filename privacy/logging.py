"""Structured logs with request ids and purposes, and nothing that identifies a person.

``TESSERA_LOG_FORMAT=json`` (the production default) writes one JSON object
per line; ``text`` writes a readable line. Every record carries the request
id (``g.request_id``) and the purpose the running code declared. Messages are
written without raw identifiers in the first place; as a second line of
defence a filter scrubs addresses, emails, tokens and codes from every
message and traceback before any handler sees it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from flask import g, has_app_context

from privacy.purposes import current_purpose
from privacy.redaction import redact

LOGGER = "tessera"
_MARK = "_tessera_handler"
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class ContextFilter(logging.Filter):
    """Stamp each record with the request id and the declared purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = g.get("request_id") if has_app_context() else None
        if getattr(record, "purpose", None) is None:
            record.purpose = current_purpose()
        return True


class RedactingFilter(logging.Filter):
    """Scrub identifiers out of the message, its arguments and any traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, purpose, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value is not None:
                payload[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        return json.dumps(payload, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """A readable line with the request id."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


def configure_logging(log_format: str, stream=None) -> logging.Handler:
    """Send the ``tessera`` loggers to STREAM (stderr) in LOG_FORMAT; safe to repeat."""
    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if getattr(h, _MARK, False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    setattr(handler, _MARK, True)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    # Records still propagate (to a host's or a test's root handlers); this handler's
    # filters run first, so what they see is already scrubbed.
    logger.propagate = True
    # The development server logs each request with the client's address.
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in werkzeug.filters):
        werkzeug.addFilter(RedactingFilter())
    return handler


def tessera_handler() -> logging.Handler | None:
    """The handler configure_logging installed, if any."""
    return next((h for h in logging.getLogger(LOGGER).handlers if getattr(h, _MARK, False)),
                None)
