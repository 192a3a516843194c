"""Staff console sign-in (name, password, TOTP) and console sessions.

Sign-in is checked the way the Customer Area's is: argon2id with a decoy hash
for unknown names, one 401 body whatever failed, attempt limits per name and
per address before anything is checked, and failures counted per name and per
address. A TOTP code is checked against a decoy secret when the name is
unknown or has no TOTP, so the work, and so the timing, is the same. An
accepted code cannot be used again (RFC 6238 section 5.2).

Console sessions are the cookie's server side: a 256-bit token shown once,
stored as HMAC (domain ``staff-session``), good until an absolute expiry. The
pages rotate it at privilege changes and expire it at sign-out.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

import pyotp
import sqlalchemy as sa

from core.database import utcnow
from core.tokens import TokenKind
from core.ratelimit import Counter, RateLimitService
from licensing import errors
from licensing.accounts.passwords import PasswordService
from licensing.support.models import Staff, StaffConsoleSession
from privacy import pseudonym as domains
from privacy.pseudonym import Pseudonymizer
from privacy.purposes import STAFF_ACCESS, processes

# Staff console sessions; the prefix is known to redaction (core.tokens).
CONSOLE_SESSION = TokenKind("tsn_")
# One step either side: an authenticator clock up to 30 s off still signs in.
TOTP_WINDOW = 1
_DECOY_TOTP_SECRET = pyotp.random_base32()


class StaffSignInService:
    """Check a staff member's name, password and TOTP code for the console."""

    def __init__(self, session, passwords: PasswordService, limits: RateLimitService,
                 clock=utcnow):
        self._session = session
        self._passwords = passwords
        self._limits = limits
        self._clock = clock

    @processes(STAFF_ACCESS)
    def sign_in(self, name: str, password: str, totp_code: str | None, address: str) -> Staff:
        """The staff member NAME if PASSWORD and (when enabled) TOTP_CODE are right.

        Raises RateLimited (429) or InvalidCredentials (401, the same for every failure).
        """
        failures = self._guard(name, address)
        staff = self._session.scalar(sa.select(Staff).where(Staff.name == name.strip()))
        live = staff if staff is not None and staff.disabled_at is None else None
        password_ok = self._passwords.verify(live.password_hash if live else None, password)
        step = matching_step(live.totp_secret if live else None, totp_code or "", self._clock())
        totp_ok = live is not None and (live.totp_secret is None or (
            step is not None and (live.totp_last_step is None or step > live.totp_last_step)))
        if not (password_ok and totp_ok):
            self._limits.failed(*failures)
            raise errors.InvalidCredentials("Unknown name, wrong password or wrong code.")
        if live.totp_secret is not None:
            live.totp_last_step = step
        if self._passwords.needs_rehash(live.password_hash):
            live.password_hash = self._passwords.hash(password)
        self._session.flush()
        return live

    def _guard(self, name: str, address: str) -> list[Counter]:
        # Staff names are kept apart from customer usernames in the counters.
        subject = "staff:" + name.strip().casefold()
        failures = [Counter("staff-failures", subject),
                    Counter("staff-failures", "address:" + address)]
        self._limits.guard(hit=[Counter("address-attempts", address),
                                Counter("account-attempts", subject)], test=failures)
        return failures


def matching_step(secret: str | None, code: str, now) -> int | None:
    """The TOTP time step within the window whose code is CODE, or None.

    With no SECRET the same codes are computed from a decoy secret, and None is
    returned: an unknown name costs what a known one does.
    """
    totp = pyotp.TOTP(secret or _DECOY_TOTP_SECRET)
    current = totp.timecode(now)
    offered = code.strip().encode("utf-8")
    found = None
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode("ascii"), offered):
            found = step
    return found if secret else None


class StaffConsoleSessionService:
    """Open, find, rotate and end staff console sessions."""

    def __init__(self, session, pseudonymizer: Pseudonymizer, lifetime_seconds: int,
                 clock=utcnow):
        self._session = session
        self._pseudonyms = pseudonymizer
        self._lifetime = timedelta(seconds=lifetime_seconds)
        self._clock = clock

    @processes(STAFF_ACCESS)
    def open(self, staff: Staff, expires_at=None) -> tuple[str, StaffConsoleSession]:
        """A new session for STAFF; the token is returned once and stored only as HMAC."""
        token = CONSOLE_SESSION.new()
        digest = self._pseudonyms.pseudonym(domains.STAFF_SESSION, token)
        now = self._clock()
        record = StaffConsoleSession(staff_id=staff.id, token_hmac=digest.value,
                                     key_version=digest.key_version, created_at=now,
                                     expires_at=expires_at or now + self._lifetime)
        self._session.add(record)
        self._session.flush()
        return token, record

    @processes(STAFF_ACCESS)
    def staff_for(self, token: str | None) -> Staff:
        """The active staff member whose unexpired session TOKEN names; else 401."""
        record = self._find(token)
        if (record is None or record.expires_at <= self._clock()
                or record.staff.disabled_at is not None):
            raise CONSOLE_SESSION.invalid()
        return record.staff

    def rotate(self, token: str | None) -> tuple[str, StaffConsoleSession]:
        """Replace the session TOKEN names with a new token, keeping its expiry."""
        staff = self.staff_for(token)
        record = self._find(token)
        expires_at = record.expires_at
        self._session.delete(record)
        self._session.flush()
        return self.open(staff, expires_at)

    def expire(self, token: str | None) -> None:
        """End the session TOKEN names (sign-out); an unknown token is ignored."""
        record = self._find(token)
        if record is not None:
            self._session.delete(record)
            self._session.flush()

    def _find(self, token: str | None) -> StaffConsoleSession | None:
        if (not token or not token.startswith(CONSOLE_SESSION.prefix)
                or len(token) > CONSOLE_SESSION.max_length):
            return None
        digests = [p.value for p in self._pseudonyms.candidates(domains.STAFF_SESSION, token)]
        # The look-up is by HMAC, so no secret is compared byte by byte here.
        return self._session.scalar(
            sa.select(StaffConsoleSession).where(StaffConsoleSession.token_hmac.in_(digests)))
