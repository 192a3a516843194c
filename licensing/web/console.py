"""The staff console (/console/): support, compliance, privacy and admin pages.

Each page names, next to its route, the roles that may see it
(``@staff_page("support")``); admin holds every role, as in the JSON API. A
staff member whose role may not see a page gets a 403 page, never a
redirect. A page calls the same services as the staff API, with the access
reason typed into the form as the X-Access-Reason of the call.
"""

from __future__ import annotations

import functools

from flask import current_app, flash, g, redirect, render_template, request, session, url_for

from core.database import db
from licensing import errors
from licensing.support.models import STAFF_ROLES
from licensing.support.staff import allows
from licensing.support.wiring import console_session_service, sign_in_service
from licensing.web.forms import SignOutForm, StaffSignInForm
from licensing.web.pages import page_blueprint
from privacy.audit import Actor
from privacy.legal.errors import DisclosureNotAllowed

blp = page_blueprint("console", "/console", "console.sign_in")

SESSION_STAFF = "staff_session"


def signed_in_staff():
    """The staff member of the browser's console session, or None."""
    token = session.get(SESSION_STAFF)
    if not token:
        return None
    try:
        return console_session_service().staff_for(token)
    except errors.Unauthenticated:
        return None


def staff_page(*roles: str):
    """Let staff holding one of ROLES see the page; others get 403, strangers the sign-in."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff = signed_in_staff()
            if staff is None:
                return redirect(url_for("console.sign_in"))
            g.staff = staff
            g.actor = Actor(id=f"staff:{staff.id}", role=staff.role)
            if not allows(staff, roles):
                raise errors.Forbidden("Your role does not allow this page.")
            return view(*args, **kwargs)
        wrapper.page_roles = roles
        return wrapper
    return decorate


# What a service may answer to an action a role is allowed: shown on the page, not as an error.
REFUSALS = (errors.ValidationFailed, errors.NotFound, errors.Conflict, errors.Forbidden,
            DisclosureNotAllowed)


def refusal_text(error: errors.ServiceError) -> str:
    """A refusal as the page shows it: the service's message and what was wrong with a field."""
    db.session.rollback()
    details = [f"{field}: {problems if isinstance(problems, str) else ' '.join(map(str, problems))}"
               for field, problems in error.errors.items()]
    return " ".join([error.message, *details])


# The console's menu: each entry shows to the roles that may see its page.
NAVIGATION = (
    ("console.search", "Search", ("support",)),
    ("console.compliance_records", "Records", ("compliance",)),
    ("console.compliance_disclosures", "Disclosures", ("compliance",)),
    ("console.privacy_requests", "Requests", ("privacy",)),
    ("console.ropa", "Record of processing", ("privacy",)),
    ("console.access_log", "Access log", ("privacy",)),
    ("console.admin_products", "Products", ("admin",)),
    ("console.admin_licenses", "Licenses", ("admin",)),
    ("console.admin_staff", "Staff", ("admin",)),
    ("console.admin_recipients", "Recipients", ("admin",)),
)


@blp.context_processor
def _console_navigation():
    staff = g.get("staff")
    if staff is None:
        return {"console_role": None, "console_menu": []}
    known = current_app.view_functions
    menu = [(endpoint, label) for endpoint, label, roles in NAVIGATION
            if endpoint in known and allows(staff, roles)]
    return {"console_role": staff.role, "console_menu": menu}


@blp.route("/")
@staff_page(*STAFF_ROLES)
def index():
    """The console's start page: what this role can do."""
    return render_template("console/index.html", title="Staff console")


@blp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Sign in with name, password and (when enabled) a TOTP code."""
    form = StaffSignInForm()
    if form.validate_on_submit():
        try:
            staff = sign_in_service().sign_in(form.name.data, form.password.data,
                                              form.totp.data, request.remote_addr or "unknown")
        except errors.InvalidCredentials as refused:
            form.password.errors.append(refused.message)
            return render_template("console/sign_in.html", title="Staff sign in",
                                   sign_in_form=form), 401
        token, _ = console_session_service().open(staff)
        db.session.commit()
        # A fresh cookie at sign-in: nothing from before carries into the signed-in session.
        session.clear()
        session[SESSION_STAFF] = token
        flash(f"Signed in as {staff.name}.", "success")
        return redirect(url_for("console.index"))
    return render_template("console/sign_in.html", title="Staff sign in", sign_in_form=form)


@blp.route("/sign-out", methods=["POST"])
def sign_out():
    """End the console session and clear the cookie."""
    if SignOutForm().validate_on_submit():
        console_session_service().expire(session.get(SESSION_STAFF))
        db.session.commit()
        session.clear()
        flash("You are signed out.", "success")
    return redirect(url_for("console.sign_in"))
