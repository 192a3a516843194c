"""Console pages for the privacy role: the request queue, the record of processing, the access log.

A request is decided on its own page, through the request service the API
uses: complete, extend and reject each take the access reason the API reads
from X-Access-Reason, and extend and reject the reason the person is given.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from core.database import db
from licensing.web.console import REFUSALS, blp, refusal_text, staff_page
from licensing.web.forms import (AccessLogForm, CompleteRequestForm, ExtendRequestForm,
                                 RejectRequestForm, RequestFilterForm)
from privacy.audit import Access, clean_reason
from privacy.purposes import PRIVACY_RIGHTS
from privacy.requests.models import OPEN
from privacy.requests.presenting import describe
from privacy.wiring import audit_service, commit_decision, request_service, ropa_document


@blp.route("/privacy/ropa")
@staff_page("privacy")
def ropa():
    """The record of processing activities (GET /v1/privacy/ropa)."""
    return render_template("console/ropa.html", title="Record of processing",
                           document=ropa_document())


@blp.route("/privacy/access-log", methods=["GET", "POST"])
@staff_page("privacy")
def access_log():
    """Who read one subject's data (GET /v1/privacy/access-log); the look-up is a POST.

    The subject is typed into a form, never put in the URL, where it would
    reach logs and browser history.
    """
    form = AccessLogForm()
    entries = None
    if form.validate_on_submit():
        access = Access(g.actor, PRIVACY_RIGHTS, clean_reason(form.reason.data), g.request_id)
        _, entries = audit_service().read_log(access, form.subject.data.strip())
        db.session.commit()
    return render_template("console/access_log.html", title="Access log", form=form,
                           entries=entries)


@blp.route("/privacy/requests")
@staff_page("privacy")
def privacy_requests():
    """The data-subject request queue with due dates (GET /v1/privacy/requests)."""
    form = RequestFilterForm(request.args, meta={"csrf": False})
    chosen = form.data if form.validate() else {}
    found = request_service().search(chosen.get("status") or None, chosen.get("type") or None,
                                     True if chosen.get("overdue") else None)
    rows = [describe(item, staff=True) for item in found]
    for row in rows:
        row["row_class"] = "overdue" if row["overdue"] else ""
    return render_template("console/requests.html", title="Data-subject requests", form=form,
                           requests=rows)


def _request_page(request_id: str, refusal: str | None = None, status: int = 200, **forms):
    shown = describe(request_service().get(request_id), staff=True)
    forms = {"complete_form": CompleteRequestForm(formdata=None, prefix="complete"),
             "extend_form": ExtendRequestForm(formdata=None, prefix="extend"),
             "reject_form": RejectRequestForm(formdata=None, prefix="reject"), **forms}
    return render_template("console/request.html", title=f"Request {request_id}", item=shown,
                           open=shown["status"] in OPEN, refusal=refusal, **forms), status


def _officer_access(form) -> Access:
    return Access(g.actor, PRIVACY_RIGHTS, clean_reason(form.reason.data), g.get("request_id"))


@blp.route("/privacy/requests/<request_id>")
@staff_page("privacy")
def privacy_request(request_id: str):
    """One request, its due date and, while it is open, what the officer may decide."""
    return _request_page(request_id)


def _decide(request_id: str, name: str, form, decide, commit, done: str):
    """Validate FORM (its page's form NAME), DECIDE on the request, COMMIT, say DONE.

    A form that does not validate, or a refusal of the service, shows the
    request's page again with FORM and why.
    """
    if not form.validate_on_submit():
        return _request_page(request_id, status=400, **{name: form})
    try:
        outcome = decide(request_service(), _officer_access(form))
    except REFUSALS as error:
        return _request_page(request_id, refusal_text(error), error.status, **{name: form})
    commit(outcome)
    flash(f"Request {request_id} is {done}.", "success")
    return redirect(url_for("console.privacy_request", request_id=request_id))


@blp.route("/privacy/requests/<request_id>/complete", methods=["POST"])
@staff_page("privacy")
def complete_request(request_id: str):
    """Carry the request out now (POST /v1/privacy/requests/{id}/complete)."""
    form = CompleteRequestForm(prefix="complete")
    return _decide(request_id, "complete_form", form, lambda service, access: service.complete(
        request_id, access, form.compelling_grounds.data or None), commit_decision,
        "carried out")


@blp.route("/privacy/requests/<request_id>/extend", methods=["POST"])
@staff_page("privacy")
def extend_request(request_id: str):
    """Extend the deadline once by one or two months (POST .../{id}/extend)."""
    form = ExtendRequestForm(prefix="extend")
    return _decide(request_id, "extend_form", form, lambda service, access: service.extend(
        request_id, int(form.months.data), form.subject_reason.data, access),
        lambda _: db.session.commit(), "extended")


@blp.route("/privacy/requests/<request_id>/reject", methods=["POST"])
@staff_page("privacy")
def reject_request(request_id: str):
    """Refuse the request with the reason the person is given (POST .../{id}/reject)."""
    form = RejectRequestForm(prefix="reject")
    return _decide(request_id, "reject_form", form, lambda service, access: service.reject(
        request_id, form.subject_reason.data, access), lambda _: db.session.commit(), "refused")
