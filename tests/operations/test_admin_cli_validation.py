"""The admin CLI validates with the API's schemas and refuses contradictory options."""

from __future__ import annotations

import json

import pytest

# OWASP ASVS 2.1.2: passwords up to 128 characters are accepted, longer ones refused.
MAX_PASSWORD_LENGTH = 128

GOOD = {"--email": "alice@example.com", "--password": "a long enough passphrase",
        "--country": "BE"}


def create_account(runner, **changes):
    options = {**GOOD, **changes}
    args = ["admin", "create-account", "alice", "--json"]
    for name, value in options.items():
        args += [name, value]
    return runner.invoke(args=args)


def refused_field(result) -> dict:
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "VALIDATION_FAILED"
    return error["errors"]


@pytest.mark.parametrize("option, value, field", [
    ("--email", "not-an-email", "email"),
    ("--password", "x", "password"),
    ("--password", "elevenchars", "password"),
    ("--password", "y" * (MAX_PASSWORD_LENGTH + 1), "password"),
    ("--password", "password1234", "password"),
    ("--password", "Qwerty123456", "password"),
    ("--country", "ZZZ", "country"),
    ("--country", "ZZ", "country"),
])
def test_create_account_refuses_what_the_api_would(runner, option, value, field):
    errors = refused_field(create_account(runner, **{option: value}))
    assert list(errors) == [field]


def test_a_valid_account_is_created_with_its_country_upper_cased(runner):
    result = create_account(runner, **{"--country": "be"})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["username"] == "alice"


def test_the_password_policy_follows_asvs():
    from licensing.accounts.passwords import MAX_PASSWORD_LENGTH as limit
    from licensing.accounts.passwords import password_problems

    assert limit == MAX_PASSWORD_LENGTH
    assert password_problems("a" * 11) and not password_problems("a long enough passphrase")
    assert password_problems("1q2w3e4r5t6y"), "a breached password of 12 characters"
    assert not password_problems("z" * MAX_PASSWORD_LENGTH)


def test_a_perpetual_license_with_days_is_refused(runner):
    assert create_account(runner).exit_code == 0
    runner.invoke(args=["admin", "create-product", "numflo", "NUMFLO"])
    result = runner.invoke(args=["admin", "issue-license", "alice", "numflo", "--seats", "1",
                                 "--kind", "perpetual", "--days", "30", "--json"])
    errors = refused_field(result)
    assert "perpetual license has no term" in errors["days"][0]
    assert "perpetual license has no term" in result.stderr
    ok = runner.invoke(args=["admin", "issue-license", "alice", "numflo", "--seats", "1",
                             "--kind", "perpetual", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)["expires_at"] is None
