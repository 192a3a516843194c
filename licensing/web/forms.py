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
