"""Requests the compliance tests make: activations from a country, forged refreshes."""

from __future__ import annotations

from support import Device

COUNTRY_HEADER = "X-Country"


def from_country(country: str | None, address: str = "81.2.69.160") -> dict:
    """Headers a trusted proxy adds: the client's address and country."""
    headers = {"X-Forwarded-For": address}
    if country is not None:
        headers[COUNTRY_HEADER] = country
    return headers


def activate(client, device: Device, credentials: dict, country: str | None = "DE", **extra):
    path = "/v1/activations"
    return client.post(path, json=device.activation_body(**credentials, **extra),
                       headers={"DPoP": device.proof("POST", path), **from_country(country)})


def refresh(client, device: Device, activation_id: str, country: str | None = "DE"):
    path = f"/v1/activations/{activation_id}/refresh"
    return client.post(path, json={},
                       headers={"DPoP": device.proof("POST", path), **from_country(country)})


def records(client, headers: dict, **query) -> list[dict]:
    answer = client.get("/v1/compliance/records", query_string=query, headers=headers)
    assert answer.status_code == 200, answer.json
    return answer.json["records"]
