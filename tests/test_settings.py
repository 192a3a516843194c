"""Keyrings from the environment: base64url or standard base64, nothing else."""

from __future__ import annotations

import base64
import secrets

import pytest

from config.settings import ConfigurationError, parse_keyring


def test_keys_made_by_common_tools_are_read():
    raw = secrets.token_bytes(32)
    standard = base64.b64encode(raw).decode()          # openssl rand -base64 32
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    assert parse_keyring(f"v2:{standard},v1:{urlsafe}", "K") == {"v2": raw, "v1": raw}


@pytest.mark.parametrize("encoded", ["abc!" * 11, "A" * 42 + "B", "A" * 43 + "=="])
def test_a_key_with_stray_characters_or_another_spelling_is_refused(encoded):
    with pytest.raises(ConfigurationError, match="not canonical base64url"):
        parse_keyring(f"v1:{encoded}", "K")
