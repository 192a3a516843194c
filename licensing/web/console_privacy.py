"""Console pages for the privacy role: the request queue, the record of processing, the access log."""

from __future__ import annotations

from flask import g, render_template, request

from core.database import db
from licensing.web.console import blp, staff_page
from licensing.web.forms import AccessLogForm, RequestFilterForm
from privacy.audit import Access, clean_reason
from privacy.purposes import PRIVACY_RIGHTS
from privacy.requests.presenting import describe
from privacy.wiring import audit_service, request_service, ropa_document


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
