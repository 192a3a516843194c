"""What gunicorn answers and logs by itself, brought under Tessera's rules.

gunicorn refuses some requests before the application sees them: a request
line or header over its limits, a request that is not HTTP. Its stock answer
is an HTML page, and its log line names the client's address. The workers
here answer in the one JSON error shape instead, and the logger scrubs
addresses and tokens from everything gunicorn writes to its error log.
"""

from __future__ import annotations

import json
import ssl

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import errors as http
from gunicorn.workers.gthread import ThreadWorker
from gunicorn.workers.sync import SyncWorker

from privacy.logging import RedactingFilter

# First match wins: the response-header errors derive from the request-header ones.
_ANSWERS = [
    ((http.InvalidResponseHeader, http.InvalidResponseHeaderName, http.ConfigurationProblem),
     500, "Internal Server Error", "INTERNAL_ERROR", "Something went wrong on our side."),
    ((http.LimitRequestLine,), 414, "URI Too Long", "URI_TOO_LONG",
     "The request line is too long."),
    ((http.LimitRequestHeaders,), 431, "Request Header Fields Too Large", "HEADERS_TOO_LARGE",
     "The request has too many headers, or one that is too long."),
    ((http.UnsupportedTransferCoding,), 501, "Not Implemented", "NOT_IMPLEMENTED",
     "This transfer coding is not supported."),
    ((http.ExpectationFailed,), 417, "Expectation Failed", "EXPECTATION_FAILED",
     "Only the 100-continue expectation is supported."),
    ((http.ForbiddenProxyRequest, ssl.SSLError), 403, "Forbidden", "FORBIDDEN",
     "This connection is not allowed."),
    ((http.ParseException,), 400, "Bad Request", "MALFORMED_REQUEST",
     "The request is not valid HTTP."),
]
_UNEXPECTED = _ANSWERS[0][1:]
_HEADERS = ("Connection: close\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n")


def answer_for(exc: BaseException) -> tuple[int, str, str, str]:
    """Status, reason phrase, API code and message for an error gunicorn caught."""
    for kinds, *answer in _ANSWERS:
        if isinstance(exc, kinds):
            return tuple(answer)
    return _UNEXPECTED


def error_bytes(status: int, reason: str, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 answer carrying the one error body."""
    body = json.dumps({"code": code, "message": message, "errors": {}}).encode("utf-8")
    head = f"HTTP/1.1 {status} {reason}\r\n{_HEADERS}Content-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body


class JsonErrors:
    """Replaces gunicorn's Worker.handle_error: a JSON answer, a log line without address."""

    def handle_error(self, req, client, addr, exc):
        status, reason, code, message = answer_for(exc)
        if status >= 500:
            self.log.exception("Error handling a request")
        else:
            # The exception's text may quote the request line: its class says enough.
            self.log.warning("Refused a request gunicorn could not accept: %s (%d)",
                             type(exc).__name__, status)
        try:
            util.write_nonblock(client, error_bytes(status, reason, code, message))
        except Exception:
            self.log.debug("Failed to send error message.")


class JsonErrorsThreadWorker(JsonErrors, ThreadWorker):
    """gunicorn's gthread worker with JSON error answers."""


class JsonErrorsSyncWorker(JsonErrors, SyncWorker):
    """gunicorn's sync worker with JSON error answers."""


class AddressFreeLogger(Logger):
    """gunicorn's logger whose error log passes privacy's redacting filter."""

    def setup(self, cfg):
        super().setup(cfg)
        if not any(isinstance(f, RedactingFilter) for f in self.error_log.filters):
            self.error_log.addFilter(RedactingFilter())
