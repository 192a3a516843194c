"""Staff accounts: create, disable, API tokens, console password and TOTP.

Tokens are 256 random bits from ``secrets``, shown once and stored only as
their keyed HMAC (domain ``staff-token``); a token is found by its HMAC under
every configured pseudonym key, so no secret is compared byte by byte and
rotating the key signs nobody out. No Flask globals: the CLI, the admin API
and the console pages call the same methods.
"""

from __future__ import annotations

from datetime import timedelta

import pyotp
import sqlalchemy as sa

from core.database import utcnow
from core.tokens import TokenKind
from licensing import errors
from licensing.accounts.passwords import PasswordService
from licensing.support.models import STAFF_ROLES, Staff, StaffConsoleSession, StaffToken
from privacy import pseudonym as domains
from privacy.pseudonym import Pseudonymizer
from privacy.purposes import STAFF_ACCESS, processes

# Staff API tokens; the prefix is known to redaction (core.tokens).
STAFF_TOKEN = TokenKind("tss_")
MIN_PASSWORD_LENGTH = 12
# last_used_at is written at most this often: a staff tool polling the API
# should not turn every read into a write.
LAST_USED_GRANULARITY = timedelta(minutes=1)


class StaffService:
    """Manage staff members and find the one behind an API token."""

    def __init__(self, session, pseudonymizer: Pseudonymizer, passwords: PasswordService,
                 clock=utcnow):
        self._session = session
        self._pseudonyms = pseudonymizer
        self._passwords = passwords
        self._clock = clock

    @processes(STAFF_ACCESS)
    def create(self, name: str, role: str, password: str | None = None) -> tuple[str, Staff]:
        """A staff member with a first API token (returned once) and optionally a password."""
        if role not in STAFF_ROLES:
            raise errors.ValidationFailed(errors={"role": [f"one of {', '.join(STAFF_ROLES)}"]})
        name = name.strip()
        if not name:
            raise errors.ValidationFailed(errors={"name": ["must not be empty"]})
        if self._session.scalar(sa.select(Staff.id).where(Staff.name == name)) is not None:
            raise errors.Conflict(f"Staff member {name!r} already exists.")
        staff = Staff(name=name, role=role, created_at=self._clock())
        if password is not None:
            staff.password_hash = self._password_hash(password)
        self._session.add(staff)
        self._session.flush()
        token, _ = self.issue_token(staff)
        return token, staff

    def get(self, staff_id: int) -> Staff:
        """The staff member with STAFF_ID."""
        staff = self._session.get(Staff, staff_id)
        if staff is None:
            raise errors.NotFound("No such staff member.")
        return staff

    def named(self, name: str) -> Staff:
        """The staff member called NAME."""
        staff = self._session.scalar(sa.select(Staff).where(Staff.name == name))
        if staff is None:
            raise errors.NotFound(f"No staff member {name!r}.")
        return staff

    def disable(self, staff: Staff) -> Staff:
        """Disable STAFF: every token is revoked and every console session ends."""
        now = self._clock()
        if staff.disabled_at is None:
            staff.disabled_at = now
        self._session.execute(
            sa.update(StaffToken).where(StaffToken.staff_id == staff.id,
                                        StaffToken.revoked_at.is_(None))
            .values(revoked_at=now).execution_options(synchronize_session=False))
        self._session.execute(
            sa.delete(StaffConsoleSession).where(StaffConsoleSession.staff_id == staff.id)
            .execution_options(synchronize_session=False))
        self._session.flush()
        return staff

    def issue_token(self, staff: Staff) -> tuple[str, StaffToken]:
        """A new API token for STAFF; the plain token is returned once, never stored."""
        if staff.disabled_at is not None:
            raise errors.Conflict("This staff member is disabled.")
        token = STAFF_TOKEN.new()
        digest = self._pseudonyms.pseudonym(domains.STAFF_TOKEN, token)
        record = StaffToken(staff_id=staff.id, token_hmac=digest.value,
                            key_version=digest.key_version, created_at=self._clock())
        self._session.add(record)
        self._session.flush()
        return token, record

    def revoke_token(self, staff: Staff, token_id: int) -> StaffToken:
        """Revoke one of STAFF's tokens (idempotent)."""
        record = self._session.get(StaffToken, token_id)
        if record is None or record.staff_id != staff.id:
            raise errors.NotFound("No such token.")
        if record.revoked_at is None:
            record.revoked_at = self._clock()
        self._session.flush()
        return record

    def tokens(self, staff: Staff) -> list[StaffToken]:
        """STAFF's tokens, oldest first (revoked ones included)."""
        return list(self._session.scalars(
            sa.select(StaffToken).where(StaffToken.staff_id == staff.id).order_by(StaffToken.id)))

    @processes(STAFF_ACCESS)
    def authenticate_token(self, token: str) -> Staff:
        """The active staff member whose live API token TOKEN is; stamps its last use."""
        if not token.startswith(STAFF_TOKEN.prefix) or len(token) > STAFF_TOKEN.max_length:
            raise STAFF_TOKEN.invalid()
        digests = [p.value for p in self._pseudonyms.candidates(domains.STAFF_TOKEN, token)]
        record = self._session.scalar(
            sa.select(StaffToken).where(StaffToken.token_hmac.in_(digests)))
        if (record is None or record.revoked_at is not None
                or record.staff.disabled_at is not None):
            raise STAFF_TOKEN.invalid()
        now = self._clock()
        if record.last_used_at is None or now - record.last_used_at >= LAST_USED_GRANULARITY:
            record.last_used_at = now
            self._session.flush()
        return record.staff

    def set_password(self, staff: Staff, password: str) -> None:
        """Set STAFF's console password (argon2id)."""
        staff.password_hash = self._password_hash(password)
        self._session.flush()

    def enable_totp(self, staff: Staff) -> str:
        """Give STAFF a new TOTP secret (vault-encrypted); returns it to show once."""
        secret = pyotp.random_base32()
        staff.totp_secret = secret
        staff.totp_last_step = None
        self._session.flush()
        return secret

    def disable_totp(self, staff: Staff) -> None:
        """Remove STAFF's TOTP secret: the console then asks for the password alone."""
        staff.totp_secret = None
        staff.totp_last_step = None
        self._session.flush()

    def _password_hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise errors.ValidationFailed(
                errors={"password": [f"at least {MIN_PASSWORD_LENGTH} characters"]})
        return self._passwords.hash(password)


def provisioning_uri(staff: Staff, secret: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads (RFC 6238: SHA-1, 6 digits, 30 s)."""
    return pyotp.TOTP(secret).provisioning_uri(name=staff.name, issuer_name=issuer)
