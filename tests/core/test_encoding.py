"""base64url and JWK thumbprints: one spelling per value."""

from __future__ import annotations

import secrets

import pytest

from core.encoding import b64url_decode, b64url_encode, jwk_thumbprint


def test_round_trip_of_every_length():
    for size in range(0, 40):
        raw = secrets.token_bytes(size)
        assert b64url_decode(b64url_encode(raw)) == raw


@pytest.mark.parametrize("text", [
    "ab!c",            # outside the alphabet: urlsafe_b64decode would drop it
    "ab c",
    "ab+c", "ab/c",    # the other alphabet
    "AB",              # non-zero trailing bits: b"\x00" is spelled "AA"
    "abcde",           # a length no encoding has
    "AA==",            # padding, unless asked for
])
def test_every_other_spelling_is_refused(text):
    with pytest.raises(ValueError):
        b64url_decode(text)


def test_padding_is_accepted_only_when_asked_and_only_where_needed():
    assert b64url_decode("AA==", padding=True) == b"\x00"
    for text in ("AA=", "AAA==", "AA===", "AAAA="):
        with pytest.raises(ValueError):
            b64url_decode(text, padding=True)


def test_thumbprint_matches_rfc_8037_example():
    # RFC 8037 appendix A.3: the Ed25519 key of A.2 and its RFC 7638 thumbprint.
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    assert jwk_thumbprint(x) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
