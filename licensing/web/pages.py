"""What every page shares: its security headers, CSRF, and errors as HTML.

The JSON API's answers forbid loading anything (``default-src 'none'``). A
page needs its one stylesheet and may post forms only to this service; it
runs no script at all, so the policy names no script source and an injected
``<script>`` would not run.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from licensing import errors

PAGE_CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

csrf = CSRFProtect()

# The stylesheet and the shared templates (base.html, includes/).
assets = Blueprint("web", __name__, static_folder="static", static_url_path="/assets",
                   template_folder="templates")


@assets.app_context_processor
def _page_helpers():
    from licensing.web.forms import SignOutForm

    return {"sign_out_form": SignOutForm}


@assets.app_template_filter("moment")
def _moment(value) -> str:
    """A time as people read it, in UTC: 2026-11-30 14:05 UTC."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def page_blueprint(name: str, url_prefix: str, sign_in_endpoint: str) -> Blueprint:
    """A blueprint of pages: page headers, CSRF on every unsafe request, errors as HTML."""
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)
    blueprint.before_request(_check_csrf)
    blueprint.after_request(_page_headers)
    blueprint.register_error_handler(errors.ServiceError,
                                     lambda error: _service_error(error, sign_in_endpoint))
    blueprint.register_error_handler(CSRFError, _csrf_error)
    blueprint.register_error_handler(HTTPException, _http_error)
    return blueprint


def _check_csrf():
    # Every POST to a page is checked before its view runs, even one without a form.
    if request.method not in SAFE_METHODS:
        csrf.protect()


def _page_headers(response):
    response.headers["Content-Security-Policy"] = PAGE_CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(status: int, title: str, message: str):
    """An HTML error page with STATUS."""
    return render_template("error.html", title=title, message=message), status


def _service_error(error: errors.ServiceError, sign_in_endpoint: str):
    from core.database import db

    db.session.rollback()
    if error.status == 401:
        flash("Please sign in.", "info")
        return redirect(url_for(sign_in_endpoint))
    if error.status == 403:
        return error_page(403, "Not allowed", error.message)
    return error_page(error.status, "Something is not right", error.message)


def _csrf_error(error: CSRFError):
    return error_page(400, "Form expired",
                      "The form was not sent from this site or has expired. Reload and try again.")


def _http_error(error: HTTPException):
    return error_page(error.code or 500, error.name, error.description or "")


def init_app(app: Flask) -> None:
    """CSRF for pages only: the JSON API takes bearer tokens, never cookies."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    app.register_blueprint(assets)
