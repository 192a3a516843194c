"""Attempt limits on credentials and activation codes, per address and per account."""

from __future__ import annotations

from contextlib import contextmanager

from flask import request

from core.ratelimit import Counter
from licensing import errors
from licensing.accounts.models import fold_username
from licensing.compliance.checks import code_guess
from licensing.wiring import rate_limits


def limit_credential_attempt(data: dict) -> Counter:
    """Apply the attempt limits (429) and return where a failure of this attempt counts."""
    address = request.remote_addr or "unknown"
    if "activation_code" in data:
        failures = Counter("code-failures", address)
        rate_limits().guard(hit=[Counter("address-attempts", address)], test=[failures])
        return failures
    # The same folded form sign-in looks the account up by: one budget per account.
    account = fold_username(data["username"])
    failures = Counter("account-failures", account)
    rate_limits().guard(hit=[Counter("address-attempts", address),
                             Counter("account-attempts", account)], test=[failures])
    return failures


@contextmanager
def counting_failures(counter: Counter):
    """Count a refused credential or code against COUNTER, then let the refusal through."""
    try:
        yield
    except (errors.InvalidCredentials, errors.InvalidActivationCode) as exc:
        rate_limits().failed(counter)
        if isinstance(exc, errors.InvalidActivationCode):
            code_guess(exc, request.remote_addr, rate_limits())
        raise
