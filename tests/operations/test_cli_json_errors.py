"""A --json command that refuses prints one JSON error object on stdout and exits 1."""

from __future__ import annotations

import json


def json_refusal(runner, *args) -> dict:
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 1, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout
    body = json.loads(lines[0])
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    assert result.stderr.startswith("error: ")
    return body["error"]


def test_a_domain_refusal_answers_in_json(runner):
    assert runner.invoke(args=["admin", "create-product", "numflo", "NUMFLO", "--json"]
                         ).exit_code == 0
    error = json_refusal(runner, "admin", "create-product", "numflo", "Again")
    assert error["code"] == "CONFLICT" and "already exists" in error["message"]


def test_a_not_found_answers_in_json(runner):
    error = json_refusal(runner, "admin", "issue-code", "lic_missing")
    assert error["code"] == "NOT_FOUND"


def test_a_refusal_outside_the_services_answers_in_json(runner, monkeypatch):
    monkeypatch.setenv("TESSERA_VAULT_KEYS", "v9:" + "A" * 43)
    error = json_refusal(runner, "keys", "add-key", "vault")
    assert "comes from the environment" in error["message"]


def test_without_json_stdout_stays_empty(runner):
    result = runner.invoke(args=["admin", "issue-code", "lic_missing"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "No license" in result.stderr
