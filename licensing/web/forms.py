"""One form class per form on the pages; each carries its CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class CustomerSignInForm(FlaskForm):
    """The Customer Area's sign-in: the same username and password the desktop product uses."""

    username = StringField("Username", validators=[DataRequired(), Length(max=150)],
                           render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})


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
