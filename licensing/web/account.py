"""The Customer Area pages (/account/): the account holder's licenses, devices and privacy centre.

The browser holds a Customer Area session token inside Flask's signed,
HttpOnly session cookie; the token is the one ``POST /v1/session`` would
hand out, so the same service decides who is signed in and for how long.
"""

from __future__ import annotations

import functools
import json

from flask import current_app, flash, g, redirect, render_template, session, url_for

from core.database import db
from licensing import errors
from licensing.accounts.sessions import session_service
from licensing.accounts.attempts import counting_failures, limit_credential_attempt
from licensing.web.forms import CustomerSignInForm, SignOutForm
from licensing.web.pages import page_blueprint
from licensing.wiring import activation_service
from privacy.providers import ACCOUNT
from privacy.ropa import controller
from privacy.wiring import subject_access_service

blp = page_blueprint("account", "/account", "account.sign_in")

SESSION_TOKEN = "customer_token"


def customer_page(view):
    """The page is the signed-in account holder's own; anyone else is sent to sign in."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        token = session.get(SESSION_TOKEN)
        if not token:
            return redirect(url_for("account.sign_in"))
        g.account = session_service().account_for(f"Bearer {token}")
        return view(*args, **kwargs)
    wrapper.page_roles = ("customer",)
    return wrapper


@blp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign in with the account's username and password."""
    form = CustomerSignInForm()
    if form.validate_on_submit():
        data = {"username": form.username.data, "password": form.password.data}
        failures = limit_credential_attempt(data)
        try:
            with counting_failures(failures):
                account = activation_service().authenticate(data["username"], data["password"])
        except errors.InvalidCredentials as refused:
            form.password.errors.append(refused.message)
            return render_template("account/sign_in.html", form=form, title="Sign in"), 401
        token, _ = session_service().open(account)
        db.session.commit()
        # A fresh cookie at sign-in: nothing from before (a planted session, an old
        # CSRF secret) carries over into the signed-in session.
        session.clear()
        session[SESSION_TOKEN] = token
        flash("You are signed in.", "success")
        return redirect(url_for("account.index"))
    return render_template("account/sign_in.html", form=form, title="Sign in")


@blp.route("/sign-out", methods=["POST"])
def sign_out():
    """End the session (DELETE /v1/session) and clear the cookie."""
    if SignOutForm().validate_on_submit():
        token = session.get(SESSION_TOKEN)
        if token:
            session_service().close(f"Bearer {token}")
            db.session.commit()
        session.clear()
        flash("You are signed out.", "success")
    return redirect(url_for("account.sign_in"))


@blp.route("/")
@customer_page
def index():
    """The account holder's start page."""
    return render_template("account/index.html", title="Your account", account=g.account)


@blp.route("/privacy/")
@customer_page
def privacy_centre():
    """Download my data, requests, consents and notices."""
    return render_template("account/privacy.html", title="Privacy centre")


@blp.route("/privacy/export")
@customer_page
def export():
    """The subject-access / portability export (GET /v1/me/data) as a download."""
    report = subject_access_service().report(ACCOUNT, g.account.id,
                                             controller(current_app.config))
    response = current_app.response_class(json.dumps(report, indent=2),
                                          mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="tessera-my-data.json"'
    return response

