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
from licensing.accounts.attempts import counting_failures, limit_credential_attempt
from licensing.accounts.holdings import AccountHoldings
from licensing.accounts.sessions import session_service
from licensing.web.forms import (ConsentForm, CustomerSignInForm, DeactivateDeviceForm, SignOutForm,
                                 SubjectRequestForm)
from licensing.web.pages import page_blueprint
from licensing.wiring import activation_service
from privacy.notices import notice_view
from privacy.providers import ACCOUNT
from privacy.requests.presenting import describe
from privacy.ropa import controller
from privacy.wiring import (consent_service, notice_service, request_service,
                            subject_access_service)

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


def _holdings() -> AccountHoldings:
    return AccountHoldings(db.session)


@blp.route("/")
@customer_page
def index():
    """Licenses and active devices (GET /v1/me/licenses, GET /v1/me/activations)."""
    holdings = _holdings()
    return render_template(
        "account/index.html", title="Your licenses and devices", account=g.account,
        licenses=holdings.licenses(g.account.id), activations=holdings.activations(g.account.id),
        deactivate_form=lambda activation_id: DeactivateDeviceForm(prefix=activation_id))


@blp.route("/devices/<activation_id>/deactivate", methods=["POST"])
@customer_page
def deactivate(activation_id: str):
    """Free a device's seat (DELETE /v1/me/activations/{id}); its next refresh gets 410."""
    form = DeactivateDeviceForm(prefix=activation_id)
    if not form.validate_on_submit():
        flash("Tick the box to confirm the deactivation.", "error")
        return redirect(url_for("account.index"))
    _holdings().deactivate(g.account.id, activation_id)
    db.session.commit()
    flash("The device is deactivated and its seat is free.", "success")
    return redirect(url_for("account.index"))


def _privacy_page(request_form=None, status=200):
    account_id = g.account.id
    return render_template(
        "account/privacy.html", title="Privacy centre",
        notices=[notice_view(n) for n in notice_service().for_subject(ACCOUNT, account_id)],
        consents=[s.as_dict() for s in consent_service().states(ACCOUNT, account_id)],
        requests=[describe(r) for r in request_service().for_subject(ACCOUNT, account_id)],
        request_form=request_form or SubjectRequestForm(),
        consent_form=lambda purpose, grant: ConsentForm(prefix=purpose,
                                                        granted="yes" if grant else "no")), status


@blp.route("/privacy/")
@customer_page
def privacy_centre():
    """Download my data, consents, requests and notices."""
    return _privacy_page()


@blp.route("/privacy/requests", methods=["POST"])
@customer_page
def file_request():
    """File a data-subject request (POST /v1/me/requests)."""
    form = SubjectRequestForm()
    if not form.validate_on_submit():
        return _privacy_page(form, 400)
    try:
        filed = request_service().file(ACCOUNT, g.account.id, form.type.data, form.details())
    except (errors.ValidationFailed, errors.Conflict) as refused:
        db.session.rollback()
        form.type.errors = [refused.message, *_messages(refused.errors)]
        return _privacy_page(form, refused.status)
    answer = describe(filed)
    db.session.commit()
    flash(f"Your {answer['type']} request is received; we answer by "
          f"{answer['due_at'][:10]}.", "success")
    return redirect(url_for("account.privacy_centre"))


def _messages(field_errors: dict) -> list[str]:
    return [f"{field}: {message}" for field, messages in (field_errors or {}).items()
            if field != "id" for message in messages]


@blp.route("/privacy/consents/<purpose>", methods=["POST"])
@customer_page
def consent(purpose: str):
    """Give or withdraw consent in one click (PUT /v1/me/consents/{purpose})."""
    form = ConsentForm(prefix=purpose)
    if form.validate_on_submit():
        granted = form.granted.data == "yes"
        consent_service().record(ACCOUNT, g.account.id, purpose, granted)
        db.session.commit()
        flash(("Consent given to " if granted else "Consent withdrawn from ") + purpose + ".",
              "success")
    return redirect(url_for("account.privacy_centre"))


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

