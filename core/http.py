"""The HTTP edge: JSON bodies, request ids, and one error shape for everything."""

from __future__ import annotations

import json
import logging
import secrets
import time

from flask import Flask, current_app, g, jsonify, request
from flask_smorest import Api
from marshmallow import fields
from redis.exceptions import RedisError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from core import errors
from core.database import db
from core.schemas import ApiErrorSchema, load, text_values

__all__ = ["load", "json_body", "error_response", "error_responses", "init_app", "TesseraApi"]

log = logging.getLogger("tessera.http")
request_log = logging.getLogger("tessera.http.request")

MAX_DEPTH = 32
CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
_HTTP_CODES = {
    400: ("VALIDATION_FAILED", "The request is not valid."),
    404: ("NOT_FOUND", "Not found."),
    405: ("METHOD_NOT_ALLOWED", "This method is not allowed here."),
    413: ("PAYLOAD_TOO_LARGE", "The body is larger than 64 KiB."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Send application/json."),
}


class TesseraApi(Api):
    """flask-smorest, documenting the one error body as the default response."""

    ERROR_SCHEMA = ApiErrorSchema

    def _init_spec(self, *args, **kwargs):
        super()._init_spec(*args, **kwargs)
        self.ma_plugin.converter.add_attribute_function(_text_without_nul)


def error_responses(blp, *statuses: int):
    """Document the one error body for each of STATUSES on a flask-smorest view."""
    def decorate(view):
        for status in statuses:
            view = blp.alt_response(status, schema=ApiErrorSchema, description="Error")(view)
        return view
    return decorate


def _text_without_nul(self, field, ret=None, **kwargs) -> dict:
    """Document in every text field of a body what `load` enforces: no NUL."""
    if isinstance(field, fields.String) and "pattern" not in (ret or {}):
        return {"pattern": r"^[^\u0000]*$"}
    return {}


def _depth_exceeds(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _is_unicode_text(value) -> bool:
    # json.loads accepts escaped lone surrogates ("\ud800"), which no UTF-8
    # text can hold and no database driver can encode.
    try:
        for text in text_values(value):
            text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _raw_body() -> bytes:
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge as exc:
        raise errors.PayloadTooLarge() from exc
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and limit is not None and len(raw) >= limit:
        # A streamed (chunked) body is cut at the limit without complaint; one
        # that fills the whole allowance is treated as over it.
        raise errors.PayloadTooLarge()
    return raw


def json_body(*, optional: bool = False) -> dict:
    """The request's JSON object, checked in the contract's order (413, 415, 400)."""
    raw = _raw_body()
    if optional and not raw:
        return {}
    if request.mimetype != "application/json":
        raise errors.UnsupportedMediaType()
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise errors.MalformedJson() from exc
    if _depth_exceeds(value, MAX_DEPTH):
        raise errors.MalformedJson("The body is nested more than 32 levels deep.")
    if not isinstance(value, dict):
        raise errors.MalformedJson("The body must be a JSON object.")
    if not _is_unicode_text(value):
        raise errors.MalformedJson("The body is not valid UTF-8 text.")
    return value


def error_response(error: errors.ServiceError):
    """The JSON body and headers for a domain error."""
    g.error_code = error.code
    response = jsonify(error.body())
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def after_rollback(callback) -> None:
    """Run CALLBACK if this request fails and its transaction is rolled back."""
    g.setdefault("after_rollback", []).append(callback)


def _rollback() -> None:
    """Roll the request's transaction back, then run what must survive it (every error path)."""
    db.session.rollback()
    for callback in g.pop("after_rollback", ()):
        try:
            callback()
        except (SQLAlchemyError, RedisError) as exc:
            db.session.rollback()
            log.warning("work after rollback failed: %s", type(exc).__name__,
                        extra={"request_id": g.get("request_id")})


def _on_service_error(error: errors.ServiceError):
    _rollback()
    return error_response(error)


def _on_http_error(error: HTTPException):
    code, message = _HTTP_CODES.get(error.code, ("HTTP_ERROR", error.name))
    g.error_code = code
    response = jsonify({"code": code, "message": message, "errors": {}})
    response.status_code = error.code
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _on_database_error(error: OperationalError | InterfaceError):
    _rollback()
    log.warning("database unavailable: %s", type(error.orig).__name__,
                extra={"request_id": g.get("request_id")})
    return error_response(errors.Unavailable())


def _on_redis_error(error: RedisError):
    # Spent proofs live in Redis when it is configured: a proof that cannot be
    # checked for replay is refused (503, safe to retry), never accepted.
    _rollback()
    log.warning("redis unavailable: %s", type(error).__name__,
                extra={"request_id": g.get("request_id")})
    return error_response(errors.Unavailable())


def _on_unexpected(error: Exception):
    _rollback()
    log.exception("unhandled error", extra={"request_id": g.get("request_id")})
    g.error_code = "INTERNAL_ERROR"
    return jsonify({"code": "INTERNAL_ERROR", "message": "Something went wrong on our side.",
                    "errors": {}}), 500


def _assign_request_id():
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    valid = 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum()
    g.request_id = incoming if valid else secrets.token_hex(12)


def _refuse_nul_in_path():
    # No resource is named with NUL, and PostgreSQL could not even compare it.
    if "\x00" in request.path:
        raise errors.NotFound()


def _log_request(response) -> None:
    # The route's pattern, not the path: paths carry ids, and unknown paths anything.
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    request_log.info("%s %s %s %.1fms", request.method, rule, response.status_code, elapsed,
                     extra={"method": request.method, "route": rule,
                            "status": response.status_code, "duration_ms": round(elapsed, 1)})


def _stamp_response(response):
    _log_request(response)
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Nothing this service answers may load resources, be framed, or leak its URL onward.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    """Install request ids and the one error shape."""
    app.before_request(_assign_request_id)
    app.before_request(_refuse_nul_in_path)
    app.after_request(_stamp_response)
    app.register_error_handler(errors.ServiceError, _on_service_error)
    app.register_error_handler(HTTPException, _on_http_error)
    app.register_error_handler(OperationalError, _on_database_error)
    app.register_error_handler(InterfaceError, _on_database_error)
    app.register_error_handler(RedisError, _on_redis_error)
    app.register_error_handler(Exception, _on_unexpected)
