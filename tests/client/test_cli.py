"""``tessera-client``: exit codes, one JSON line on stdout, messages on stderr."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from tessera_client import cli
from tessera_client.cli import EXIT_CODES, main

FINGERPRINT = "cli-test-device-0001"


@pytest.fixture
def live_clock(clock, monkeypatch):
    """Put the stand-in service on the real clock the CLI uses, and never really sleep."""
    clock.now = int(time.time())
    naps = []
    monkeypatch.setattr(time, "sleep", naps.append)
    return naps


@pytest.fixture
def run(capsys, tmp_path, kit):
    """Run the CLI with --json and return (exit code, parsed stdout object, stderr)."""

    def invoke(*argv: str, state: bool = True, json_output: bool = True):
        args = list(argv)
        if state:
            args += ["--state-dir", str(tmp_path / "state")]
        if json_output:
            args.append("--json")
        code = main(args)
        out, err = capsys.readouterr()
        if not json_output:
            return code, out, err
        assert out.endswith("\n") and out.count("\n") == 1, f"stdout must be one JSON line: {out!r}"
        return code, json.loads(out), err

    return invoke


def _activate(run, kit, *extra: str):
    return run(
        "activate",
        "--server",
        kit.SERVER,
        "--product",
        kit.PRODUCT,
        "--fingerprint",
        FINGERPRINT,
        *extra,
    )


def test_activate_with_the_password_from_the_environment(
    tessera, live_clock, run, kit, monkeypatch
):
    monkeypatch.setenv("TESSERA_PASSWORD", "from-env")

    code, payload, err = _activate(run, kit, "--username", "ada")

    assert code == 0
    assert payload["ok"] and payload["command"] == "activate" and payload["valid"]
    assert payload["activation_id"] == "act_123" and payload["entitlements"] == ["solver", "mesher"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", payload["lease_expires_at"])
    assert (
        tessera.bodies[0]["password"] == "from-env"
        and tessera.bodies[0]["fingerprint"] == FINGERPRINT
    )
    assert "Activated" in err


def test_activate_prompts_for_the_password_on_a_terminal(
    tessera, live_clock, run, kit, monkeypatch
):
    monkeypatch.delenv("TESSERA_PASSWORD", raising=False)
    monkeypatch.setattr(cli.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt: "typed-secret")

    code, payload, _ = _activate(run, kit, "--username", "ada")

    assert code == 0 and payload["valid"]
    assert tessera.bodies[0]["password"] == "typed-secret"


def test_password_on_the_command_line_works_but_warns(tessera, live_clock, run, kit, monkeypatch):
    monkeypatch.delenv("TESSERA_PASSWORD", raising=False)

    code, _, err = _activate(run, kit, "--username", "ada", "--password", "argv-secret")

    assert code == 0 and "visible to other local users" in err
    assert "argv-secret" not in err


def test_activate_without_any_password_source_is_a_usage_error(
    http, live_clock, run, kit, monkeypatch
):
    monkeypatch.delenv("TESSERA_PASSWORD", raising=False)
    monkeypatch.setattr(cli.sys.stdin, "isatty", lambda: False, raising=False)
    monkeypatch.setattr(cli.sys.stdin, "readline", lambda: "", raising=False)

    code, payload, _ = _activate(run, kit, "--username", "ada")

    assert code == 2 and payload["error"]["kind"] == "usage"
    assert len(http.calls) == 0


def test_activate_with_a_code(tessera, live_clock, run, kit):
    code, payload, _ = _activate(run, kit, "--code", "7QKD-M3XW-5R2T-A9PB-HC4N-6YEZ-1G")

    assert code == 0 and payload["valid"]
    assert tessera.bodies[0]["activation_code"] == "7QKD-M3XW-5R2T-A9PB-HC4N-6YEZ-1G"


def test_a_refusal_exits_3_with_the_service_code(tessera, live_clock, run, kit):
    tessera.activation_error = (409, "SEAT_LIMIT_REACHED")

    code, payload, err = _activate(run, kit, "--code", "X" * 26)

    assert code == 3 and not payload["ok"]
    assert payload["error"]["code"] == "SEAT_LIMIT_REACHED" and payload["error"]["status"] == 409
    assert payload["exit_code"] == 3 and "SEAT_LIMIT_REACHED" in err


def test_an_unreachable_service_exits_5_after_retrying(tessera, live_clock, run, kit):
    tessera.offline = True

    code, payload, _ = _activate(run, kit, "--code", "X" * 26)

    assert code == 5 and payload["error"]["code"] == "SERVICE_UNREACHABLE"
    assert len(live_clock) == 3, "three backoff pauses between four tries"


def test_status_with_nothing_activated_exits_6(run, kit):
    code, payload, _ = run("status", "--product", kit.PRODUCT)

    assert code == 6 and payload["reason"] == "NOT_ACTIVATED" and not payload["valid"]


def test_status_without_product_or_state_is_not_activated(run):
    code, payload, _ = run("status")
    assert code == 6 and payload["error"]["code"] == "NOT_ACTIVATED"


def test_status_refresh_and_deactivate_round_trip(tessera, live_clock, run, kit, http):
    _activate(run, kit, "--code", "X" * 26)
    calls = len(http.calls)

    status = run("status")
    not_due = run("refresh")
    forced = run("refresh", "--force")
    freed = run("deactivate")
    again = run("deactivate")
    after = run("status")

    assert (
        status[0] == 0
        and status[1]["license_id"] == "lic_456"
        and status[1]["kind"] == "subscription"
    )
    assert status[1]["refresh_due"] is False and status[1]["product"] == kit.PRODUCT
    assert not_due[0] == 0 and not_due[1]["refreshed"] is False
    assert forced[0] == 0 and forced[1]["refreshed"] is True
    assert freed[0] == 0 and freed[1]["deactivated"] is True and "act_123" in tessera.released
    assert again[0] == 0 and again[1]["deactivated"] is False
    assert after[0] == 6
    assert len(http.calls) == calls + 2, (
        "status is offline; only the forced refresh and the delete went out"
    )


def test_a_tampered_lease_exits_4(tessera, live_clock, run, kit, tmp_path):
    _activate(run, kit, "--code", "X" * 26)
    state_file = tmp_path / "state" / "state.json"
    state = json.loads(state_file.read_text())
    header, payload, signature = state["lease"].split(".")
    state["lease"] = ".".join(
        [header, payload, ("A" if signature[0] != "A" else "B") + signature[1:]]
    )
    state_file.write_text(json.dumps(state))

    code, result, _ = run("status")

    assert code == 4 and result["reason"] == "LEASE_SIGNATURE_INVALID" and not result["ok"]


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_world_readable_key_exits_7(tessera, live_clock, run, kit, tmp_path):
    _activate(run, kit, "--code", "X" * 26)
    os.chmod(tmp_path / "state" / "device-key.pem", 0o644)

    code, payload, err = run("status")

    assert code == 7 and payload["error"]["code"] == "KEY_FILE_INSECURE"
    assert "chmod 600" in err


def test_status_for_people_goes_to_stdout_without_json(tessera, live_clock, run, kit):
    _activate(run, kit, "--code", "X" * 26)

    code, out, _ = run("status", json_output=False)

    assert code == 0
    assert out.startswith(f"{kit.PRODUCT}: valid") and "entitlements: solver, mesher" in out


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["activate", "--code", "X", "--username", "ada"],
        ["status", "--clock-tolerance", "soon"],
    ],
)
def test_usage_errors_exit_2_and_still_answer_in_json(run, argv):
    code, payload, err = run(*argv, state=False)

    assert code == 2 and payload == {
        "ok": False,
        "command": None,
        "error": {"code": "USAGE", "message": "invalid arguments"},
    }
    assert "usage:" in err


def test_activate_needs_a_server_and_product(run):
    code, payload, _ = run("activate", "--code", "X" * 26)
    assert code == 2 and "--server" in payload["error"]["message"]


def test_offline_request_writes_the_file(run, kit, tmp_path):
    target = tmp_path / "request.txt"

    code, payload, _ = run(
        "offline-request",
        "--product",
        kit.PRODUCT,
        "--fingerprint",
        FINGERPRINT,
        "--output",
        str(target),
    )

    assert code == 0 and payload["request_file"] == str(target)
    assert target.read_text().startswith("-----BEGIN TESSERA ACTIVATION REQUEST-----")


def test_importing_a_damaged_licence_file_exits_4(run, kit, tmp_path):
    damaged = tmp_path / "license.txt"
    damaged.write_text("-----BEGIN TESSERA LICENSE-----\nAAAA\n-----END TESSERA LICENSE-----\n")

    code, payload, _ = run("offline-import", str(damaged), "--product", kit.PRODUCT)

    assert code == 4 and payload["error"]["code"] == "LICENSE_FILE_INVALID"


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "exit codes:" in capsys.readouterr().out


def test_every_exit_code_is_documented():
    docs = (Path(__file__).resolve().parents[2] / "docs" / "client.md").read_text()
    for code in EXIT_CODES:
        assert re.search(rf"^\|\s*{code}\s*\|", docs, re.MULTILINE), (
            f"exit code {code} missing from docs/client.md"
        )
