"""Fixtures of the compliance tests: a proxied app that trusts a country header."""

from __future__ import annotations

import pytest

from privacy_support import staff_token

COUNTRY_HEADER = "X-Country"


@pytest.fixture
def app_config(app_config):
    """Behind one trusted proxy that names the request's country."""
    return {**app_config, "TESSERA_TRUSTED_PROXIES": 1,
            "TESSERA_TRUSTED_COUNTRY_HEADER": COUNTRY_HEADER}


@pytest.fixture
def officer(app):
    """A compliance officer's bearer header."""
    return {"Authorization": "Bearer " + staff_token(app, "compliance", "Officer One")}


@pytest.fixture
def second_officer(app):
    return {"Authorization": "Bearer " + staff_token(app, "compliance", "Officer Two")}


@pytest.fixture
def support_staff(app):
    return {"Authorization": "Bearer " + staff_token(app, "support", "Helper")}


@pytest.fixture
def administrator(app):
    return {"Authorization": "Bearer " + staff_token(app, "admin", "Boss")}
