"""One form class per form on the pages; each carries its CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (BooleanField, HiddenField, IntegerField, PasswordField, SelectField,
                     StringField, TextAreaField)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional


def choices(*pairs: tuple[str, str]) -> list[SelectChoice]:
    """A select's options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class CustomerSignInForm(FlaskForm):
    """The Customer Area's sign-in: the same username and password the desktop product uses."""

    username = StringField("Username", validators=[DataRequired(), Length(max=150)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


class StaffSignInForm(FlaskForm):
    """The console's sign-in: name, password, and the TOTP code when it is enabled."""

    name = StringField("Name", validators=[DataRequired(), Length(max=120)],
                       render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    totp = StringField("Code from your authenticator app (if enabled)",
                       validators=[Optional(), Length(6, 8)],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class SignOutForm(FlaskForm):
    """Sign out: a POST with its CSRF token, so no other site can sign anyone out."""


class ConfirmForm(FlaskForm):
    """A destructive action: the box must be ticked."""

    confirm = BooleanField("Yes, I am sure", validators=[DataRequired("Tick the box to confirm.")])


class AccessReasonField(StringField):
    """The reason for reading a person's data, sent as the call's X-Access-Reason."""

    def __init__(self, label="Reason (ticket or text)", **kwargs):
        super().__init__(label, validators=[DataRequired(), Length(3, 200)], **kwargs)


class AccessLogForm(FlaskForm):
    """Privacy: whose access log to read, and why."""

    subject = StringField("Account id or username", validators=[DataRequired(), Length(1, 320)])
    reason = AccessReasonField()


class DeactivateDeviceForm(FlaskForm):
    """Free a device's seat; each device's form is prefixed with its activation id."""

    confirm = BooleanField("Yes, deactivate this device",
                           validators=[DataRequired("Tick the box to confirm.")])


REQUEST_TYPES = (("erasure", "Erase my data"),
                 ("restriction", "Restrict the processing of my data"),
                 ("objection", "Object to processing based on legitimate interests"),
                 ("rectification", "Correct my details"))


class SubjectRequestForm(FlaskForm):
    """File a data-subject request (POST /v1/me/requests)."""

    type = SelectField("Kind of request", choices=choices(*REQUEST_TYPES))
    note = TextAreaField("Anything we should know (optional)", validators=[Length(max=2000)])
    email = StringField("Correct email", validators=[Optional(), Length(max=320)],
                        render_kw={"autocomplete": "email"})
    name = StringField("Correct name", validators=[Optional(), Length(max=200)],
                       render_kw={"autocomplete": "name"})
    company = StringField("Correct company", validators=[Optional(), Length(max=200)],
                          render_kw={"autocomplete": "organization"})
    country = StringField("Correct country (two letters)", validators=[Optional(), Length(2, 2)],
                          render_kw={"autocomplete": "country"})

    def details(self) -> dict:
        """The request's details as the API takes them."""
        if self.type.data != "rectification":
            return {"note": self.note.data} if self.note.data else {}
        fields = {name: getattr(self, name).data for name in ("email", "name", "company",
                                                              "country")}
        return {name: value.strip() for name, value in fields.items() if value and value.strip()}


class ConsentForm(FlaskForm):
    """Give or withdraw consent to one purpose in one click; prefixed with the purpose."""

    granted = HiddenField(validators=[AnyOf(["yes", "no"])])


class SupportSearchForm(FlaskForm):
    """Support: find an account by exact username or email, giving the reason."""

    by = SelectField("Search by", choices=choices(("username", "Username"), ("email", "Email")))
    query = StringField("Username or email (exact)", validators=[DataRequired(), Length(1, 320)])
    reason = AccessReasonField()


class CaseReasonForm(FlaskForm):
    """The reason for opening a license or device record (its X-Access-Reason)."""

    reason = AccessReasonField()


class ReleaseSeatForm(FlaskForm):
    """Support: release one activation's seat; prefixed with the activation id."""

    reason = AccessReasonField("Reason for the release (ticket or text)")
    confirm = BooleanField("Yes, release this seat",
                           validators=[DataRequired("Tick the box to confirm.")])


class FreshCodeForm(FlaskForm):
    """Support: a fresh single-use activation code for a license."""

    days = IntegerField("Valid for (days)", default=30, validators=[NumberRange(1, 365)])
    reason = AccessReasonField("Reason (ticket or text)")


class DeviceSearchForm(FlaskForm):
    """Support: a device's activations by product and device ID (pseudonymised at once)."""

    product = StringField("Product code", validators=[DataRequired(), Length(1, 64)])
    fingerprint = StringField("Device ID", validators=[DataRequired(), Length(1, 512)],
                              render_kw={"autocomplete": "off"})
    reason = AccessReasonField()


class RequestFilterForm(FlaskForm):
    """Privacy: which requests to list (a GET filter: no personal data, no CSRF needed)."""

    status = SelectField("Status", choices=choices(("", "Any"), ("received", "Received"),
                                                   ("extended", "Extended"),
                                                   ("completed", "Completed"),
                                                   ("rejected", "Rejected")), default="")
    type = SelectField("Kind", choices=choices(("", "Any"), *REQUEST_TYPES), default="")
    overdue = BooleanField("Only overdue")


def _any(*values: str) -> list[SelectChoice]:
    """A filter's options: "Any" first, then each value as its own label."""
    return choices(("", "Any"), *((value, value) for value in values))


class CaseActionReasonField(StringField):
    """The reason for acting on a case (3..200 characters), kept with the record."""

    def __init__(self, label="Reason", **kwargs):
        super().__init__(label, validators=[DataRequired(), Length(3, 200)], **kwargs)


class SubjectReasonField(TextAreaField):
    """The reason a data subject is given (3..500 characters)."""

    def __init__(self, label="Reason given to the person", **kwargs):
        super().__init__(label, validators=[DataRequired(), Length(3, 500)], **kwargs)


# -- privacy: deciding requests ------------------------------------------------

class CompleteRequestForm(FlaskForm):
    """Privacy: carry a request out (POST /v1/privacy/requests/{id}/complete)."""

    compelling_grounds = TextAreaField(
        "Compelling legitimate grounds (objections only: rejects the objection)",
        validators=[Optional(), Length(3, 500)])
    reason = AccessReasonField("Access reason (ticket or text)")
    confirm = BooleanField("Yes, carry this request out",
                           validators=[DataRequired("Tick the box to confirm.")])


class ExtendRequestForm(FlaskForm):
    """Privacy: extend a request's deadline once, by one or two months."""

    months = SelectField("Extend by", choices=choices(("1", "One month"), ("2", "Two months")))
    subject_reason = SubjectReasonField("Why more time is needed (the person is told)")
    reason = AccessReasonField("Access reason (ticket or text)")


class RejectRequestForm(FlaskForm):
    """Privacy: refuse a request, with the reason the person is given."""

    subject_reason = SubjectReasonField("Why the request is refused (the person is told)")
    reason = AccessReasonField("Access reason (ticket or text)")
    confirm = BooleanField("Yes, refuse this request",
                           validators=[DataRequired("Tick the box to confirm.")])


# -- compliance: records and disclosures -------------------------------------

class RecordFilterForm(FlaskForm):
    """Compliance: which records to list (a GET filter: no personal data, no CSRF needed)."""

    tag = SelectField("Tag", default="")
    kind = SelectField("Kind", default="")
    status = SelectField("Status", default="")

    def __init__(self, *args, tags=(), kinds=(), statuses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.tag.choices = _any(*tags)
        self.kind.choices = _any(*kinds)
        self.status.choices = _any(*statuses)


class HoldForm(FlaskForm):
    """Compliance: put a record on legal hold or lift it; prefixed with the record id."""

    hold = HiddenField(validators=[AnyOf(["yes", "no"])])
    reason = CaseActionReasonField("Reason for the hold (ticket or text)")


class CloseRecordForm(FlaskForm):
    """Compliance: close a record's case; its retention runs from then."""

    reason = CaseActionReasonField("Reason for closing (ticket or text)")
    confirm = BooleanField("Yes, close this case",
                           validators=[DataRequired("Tick the box to confirm.")])


class DisclosureFilterForm(FlaskForm):
    """Compliance: which disclosures to list (a GET filter, no CSRF needed)."""

    status = SelectField("Status", default="")

    def __init__(self, *args, statuses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = _any(*statuses)


class DisclosureForm(FlaskForm):
    """Compliance: disclose records to a registered recipient (POST /v1/compliance/disclosures)."""

    records = StringField("Record ids (separated by spaces or commas)",
                          validators=[DataRequired(), Length(1, 4000)],
                          render_kw={"autocomplete": "off"})
    recipient = SelectField("Recipient")
    legal_reference = StringField("Legal reference (order or case number; law enforcement)",
                                  validators=[Optional(), Length(max=200)])
    reidentify = BooleanField("Re-identify the account (law enforcement only; a second "
                              "officer must approve)")

    def record_ids(self) -> list[str]:
        """The record ids typed, in order, without repeats."""
        typed = self.records.data.replace(",", " ").split()
        return list(dict.fromkeys(typed))


class ApproveDisclosureForm(FlaskForm):
    """Compliance: a second officer approves a re-identifying disclosure."""

    confirm = BooleanField("Yes, I am the second officer and approve this disclosure",
                           validators=[DataRequired("Tick the box to confirm.")])


# -- admin ---------------------------------------------------------------------

class ProductForm(FlaskForm):
    """Admin: a new product (POST /v1/admin/products)."""

    code = StringField("Code", validators=[DataRequired(), Length(1, 64)])
    name = StringField("Name", validators=[DataRequired(), Length(1, 200)])
    fingerprint_match = SelectField(
        "Device ID match", choices=choices(("exact", "Exact"), ("most", "Most components"),
                                           ("any", "Any component")), default="exact")


class LicenseFilterForm(FlaskForm):
    """Admin: which licenses to list (a GET filter, no CSRF needed)."""

    product = StringField("Product code", validators=[Optional(), Length(max=64)])
    status = SelectField("Status", default="")

    def __init__(self, *args, statuses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.status.choices = _any(*statuses)


class FindLicenseForm(FlaskForm):
    """Admin: find licenses by license id, account id or username (posted, never in a URL)."""

    reference = StringField("License id, account id or username",
                            validators=[DataRequired(), Length(1, 150)])


class IssueLicenseForm(FlaskForm):
    """Admin: issue a license to an account (POST /v1/admin/licenses)."""

    account = StringField("Account id or username", validators=[DataRequired(), Length(1, 150)])
    product = SelectField("Product")
    kind = SelectField("Kind", choices=choices(("subscription", "Subscription"),
                                               ("trial", "Trial"), ("perpetual", "Perpetual")))
    seats = IntegerField("Seats", default=1, validators=[NumberRange(1, 100000)])
    days = IntegerField("Days (empty: 30 for a trial, 365 for a subscription)",
                        validators=[Optional(), NumberRange(1, 36500)])
    seat_mode = SelectField("Seats are", choices=choices(("node_locked", "Locked to a device"),
                                                         ("floating", "Floating")))

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.product.choices = choices(*((p.code, f"{p.name} ({p.code})") for p in products))


class RenewLicenseForm(FlaskForm):
    """Admin: extend a license by a number of days."""

    days = IntegerField("Renew by (days)", default=365, validators=[NumberRange(1, 36500)])


class LicenseStatusForm(FlaskForm):
    """Admin: suspend, reinstate or revoke a license; tick to confirm."""

    confirm = BooleanField("Yes, I am sure", validators=[DataRequired("Tick the box to confirm.")])


class StaffForm(FlaskForm):
    """Admin: a new staff member (POST /v1/admin/staff); the token is shown once."""

    name = StringField("Name", validators=[DataRequired(), Length(1, 120)],
                       render_kw={"autocomplete": "off"})
    role = SelectField("Role", choices=choices(("support", "Support"),
                                               ("compliance", "Compliance"),
                                               ("privacy", "Privacy"), ("admin", "Admin")))
    password = PasswordField("Console password (optional, at least 12 characters)",
                             validators=[Optional(), Length(12, 1024)],
                             render_kw={"autocomplete": "new-password"})


class DisableStaffForm(FlaskForm):
    """Admin: disable a staff member; prefixed with their id."""

    confirm = BooleanField("Yes, disable", validators=[DataRequired("Tick the box to confirm.")])


class RecipientForm(FlaskForm):
    """Admin: register a recipient of disclosures (POST /v1/admin/recipients)."""

    name = StringField("Name", validators=[DataRequired(), Length(1, 200)])
    category = SelectField("Category", choices=choices(
        ("software_company", "Software company"), ("anti_piracy_org", "Anti-piracy organisation"),
        ("export_authority", "Export authority"), ("law_enforcement", "Law enforcement")))
    endpoint = StringField("Endpoint (https://...)", validators=[DataRequired(), Length(8, 500)],
                           render_kw={"inputmode": "url"})


class IssueCodeForm(FlaskForm):
    """Admin: a fresh single-use activation code for a license."""

    days = IntegerField("Valid for (days)", default=30, validators=[NumberRange(1, 365)])
