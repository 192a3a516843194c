"""Server-rendered pages: the staff console (/console/) and the Customer Area (/account/).

Both areas share one look (templates/base.html, static/tessera.css) and one
set of rules (pages.py): cookie sessions, a CSRF token on every form, a
strict Content-Security-Policy with no script, errors as HTML. A page calls
the same services as the JSON API and holds no logic of its own.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the stylesheet, CSRF protection and both areas' pages."""
    from licensing.web import (account, console, console_admin, console_compliance,
                               console_privacy, console_support, pages)

    # The console's pages live in one module per role and add themselves to its blueprint.
    del console_admin, console_compliance, console_privacy, console_support

    pages.init_app(app)
    app.register_blueprint(console.blp)
    app.register_blueprint(account.blp)
