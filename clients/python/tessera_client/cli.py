"""``tessera-client``: activate, inspect and release a licence from a shell.

With ``--json`` each command prints exactly one JSON object on one line of
stdout; messages always go to stderr. Exit codes are listed in EXIT_CODES.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import errors
from .client import LicenseClient
from .clock import DEFAULT_CLOCK_TOLERANCE
from .jwk import validate_jwks
from .state import StateStore
from .status import LicenseStatus

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_LEASE_INVALID = 4
EXIT_UNAVAILABLE = 5
EXIT_NOT_ACTIVATED = 6
EXIT_LOCAL = 7
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILURE: "unexpected failure",
    EXIT_USAGE: "usage error (bad or missing arguments)",
    EXIT_REFUSED: "the licence service refused (credentials, seats, licence state...)",
    EXIT_LEASE_INVALID: "the lease or licence file is invalid, or the clock was set back",
    EXIT_UNAVAILABLE: "the licence service could not be reached or is failing",
    EXIT_NOT_ACTIVATED: "not activated on this device",
    EXIT_LOCAL: "local problem: key file, state file, machine id or file access",
}
PASSWORD_ENV = "TESSERA_PASSWORD"
STATE_DIR_ENV = "TESSERA_STATE_DIR"
DEFAULT_REQUEST_FILE = "tessera-activation-request.txt"


class UsageError(Exception):
    """The command line cannot be acted on."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one tessera-client command and return its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has already written its message to stderr
        code = exc.code if isinstance(exc.code, int) else EXIT_USAGE
        if code != EXIT_OK and "--json" in argv:
            _emit_json(
                {
                    "ok": False,
                    "command": None,
                    "error": {"code": "USAGE", "message": "invalid arguments"},
                }
            )
        return code
    try:
        payload, code = args.handler(args)
    except Exception as exc:  # every failure becomes an exit code, never a traceback
        return _report_failure(args, exc)
    _emit(args, {"ok": code == EXIT_OK, "command": args.command, **payload})
    return code


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with one sub-parser per command."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog="tessera-client",
        description="Tessera licence client",
        epilog=_exit_code_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_activate(commands, common)
    _add(commands, common, "status", "show the local licence (no network)", run_status)
    refresh = _add(commands, common, "refresh", "get a new lease when due", run_refresh)
    refresh.add_argument("--force", action="store_true", help="refresh even when not due")
    _add(commands, common, "deactivate", "free this device's seat", run_deactivate)
    text = "write an offline activation request"
    request = _add(commands, common, "offline-request", text, run_offline_request)
    request.add_argument("--output", type=Path, default=Path(DEFAULT_REQUEST_FILE))
    _add_device_options(request)
    text = "verify and install a licence file"
    importer = _add(commands, common, "offline-import", text, run_offline_import)
    importer.add_argument("license_file", help="licence file to import ('-' for stdin)")
    return parser


def _common_options() -> argparse.ArgumentParser:
    """The options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    add = common.add_argument
    add("--state-dir", type=Path, help=f"device key and licence state (env {STATE_DIR_ENV})")
    add("--product", help="product code (taken from the state when omitted)")
    add("--server", help="licence service base URL (remembered after activation)")
    add("--jwks", type=Path, help="JWKS file of the vendor's signing keys to trust")
    add("--issuer", help="expected lease issuer")
    add("--clock-tolerance", type=float, default=DEFAULT_CLOCK_TOLERANCE, metavar="SECONDS")
    add("--allow-insecure-http", action="store_true", help="http:// to a remote server (tests)")
    add("--json", action="store_true", help="print one JSON object on stdout")
    return common


def _add(
    commands: Any,
    common: argparse.ArgumentParser,
    name: str,
    text: str,
    handler: Callable[[argparse.Namespace], tuple[dict[str, Any], int]],
) -> argparse.ArgumentParser:
    """Add one sub-command bound to its handler."""
    sub = commands.add_parser(name, parents=[common], help=text, description=text)
    sub.set_defaults(handler=handler)
    return sub


def _add_activate(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the activate command and its credential options."""
    activate = _add(commands, common, "activate", "take a seat for this device", run_activate)
    who = activate.add_mutually_exclusive_group(required=True)
    who.add_argument("--username", help="Customer Area user name")
    who.add_argument("--code", help="activation code")
    activate.add_argument("--password", help=f"password (prefer env {PASSWORD_ENV} or the prompt)")
    _add_device_options(activate)


def _add_device_options(sub: argparse.ArgumentParser) -> None:
    """Add the optional device description sent with an activation."""
    sub.add_argument(
        "--device-name", help="a label for this device, shown to you in the Customer Area"
    )
    sub.add_argument("--platform", help="platform label (default: OS and CPU)")
    sub.add_argument("--fingerprint", help="device id to present instead of the machine-id HMAC")


# --- commands ---------------------------------------------------------------


def run_activate(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Activate with a user name and password or an activation code."""
    if not args.product or not (args.server or _stored(args, "server_url")):
        raise UsageError("activate needs --product and --server")
    password = _password(args) if args.username else None
    with _client(args) as client:
        status = client.activate(
            username=args.username,
            password=password,
            activation_code=args.code,
            device_name=args.device_name,
            platform=args.platform,
        )
    _say(f"Activated {status.product} on this device.")
    return status.to_dict(), _status_exit(status)


def run_status(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Report the local licence without touching the network."""
    with _client(args) as client:
        status = client.status()
    if not args.json:
        _print_status(status)
    return status.to_dict(), _status_exit(status)


def run_refresh(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Refresh the lease when due (or when forced)."""
    with _client(args) as client:
        refreshed = client.refresh(force=args.force)
        status = client.status()
    _say("Lease refreshed." if refreshed else "Lease is not due for refresh; nothing to do.")
    return {"refreshed": refreshed, **status.to_dict()}, _status_exit(status)


def run_deactivate(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Free the seat and forget the lease."""
    with _client(args) as client:
        deactivated = client.deactivate()
    _say("Seat freed." if deactivated else "Nothing to deactivate on this device.")
    return {"deactivated": deactivated, "product": _product(args)}, EXIT_OK


def run_offline_request(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Write an offline activation request file."""
    if not args.product:
        raise UsageError("offline-request needs --product")
    with _client(args) as client:
        text = client.offline_request(device_name=args.device_name, platform=args.platform)
    args.output.write_text(text, encoding="ascii")
    _say(f"Wrote {args.output}; submit it from a connected machine, then run offline-import.")
    return {"request_file": str(args.output), "product": args.product}, EXIT_OK


def run_offline_import(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Verify a licence file with no network and install it."""
    if args.license_file == "-":
        text = sys.stdin.read()
    else:
        text = Path(args.license_file).read_text(encoding="utf-8")
    with _client(args) as client:
        status = client.offline_import(text)
    _say(f"Installed the offline licence for {status.product}.")
    return status.to_dict(), _status_exit(status)


# --- helpers ----------------------------------------------------------------


def _client(args: argparse.Namespace) -> LicenseClient:
    """Build the LicenseClient the command line describes."""
    return LicenseClient(
        _product(args),
        _state_dir(args),
        server_url=args.server,
        fingerprint=getattr(args, "fingerprint", None),
        jwks=_load_jwks(args.jwks) if args.jwks else None,
        issuer=args.issuer,
        clock_tolerance=args.clock_tolerance,
        allow_insecure_http=args.allow_insecure_http,
    )


def _product(args: argparse.Namespace) -> str:
    """The product from the command line, else the one the state belongs to."""
    product = args.product or _stored(args, "product")
    if product:
        return product
    if args.command in ("status", "refresh", "deactivate"):
        raise errors.NotActivated(f"nothing is activated in {_state_dir(args)}")
    raise UsageError("no product: pass --product")


def _stored(args: argparse.Namespace, name: str) -> Any:
    """Read one field of the saved state, None when there is no state."""
    state = StateStore(_state_dir(args)).load()
    return getattr(state, name) if state else None


def _state_dir(args: argparse.Namespace) -> Path:
    """The state directory from the command line, the environment or the platform default."""
    if args.state_dir:
        return args.state_dir
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV])
    return default_state_dir()


def default_state_dir() -> Path:
    """The per-user data directory the platform expects."""
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Tessera"
    if sys.platform in ("win32", "cygwin"):
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local") / "Tessera"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share") / "tessera"


def _load_jwks(path: Path) -> dict[str, Any]:
    """Read a JWKS file the vendor ships."""
    try:
        return validate_jwks(json.loads(path.read_text(encoding="utf-8")))
    except ValueError as exc:
        raise UsageError(f"{path} is not a usable JWKS: {exc}") from exc


def _password(args: argparse.Namespace) -> str:
    """Take the password from --password, the environment or a prompt, in that order."""
    if args.password:
        _say(
            "Note: a password on the command line is visible to other local users; "
            f"prefer {PASSWORD_ENV} or the prompt."
        )
        return args.password
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\r\n")
        if line:
            return line
        raise UsageError(f"no password: set {PASSWORD_ENV} or run interactively")
    return getpass.getpass(f"Password for {args.username}: ")


def _status_exit(status: LicenseStatus) -> int:
    """The exit code a status stands for."""
    if status.valid:
        return EXIT_OK
    return EXIT_NOT_ACTIVATED if status.reason == errors.NotActivated.code else EXIT_LEASE_INVALID


def _print_status(status: LicenseStatus) -> None:
    """Print a status for people."""
    data = status.to_dict()
    verdict = "valid" if status.valid else f"INVALID ({status.reason}: {status.message})"
    print(f"{status.product}: {verdict}")
    for label, key in (
        ("activation", "activation_id"),
        ("license", "license_id"),
        ("kind", "kind"),
        ("lease expires", "lease_expires_at"),
        ("refresh after", "refresh_after"),
        ("license expires", "license_expires_at"),
        ("server", "server_url"),
    ):
        if data[key]:
            print(f"  {label}: {data[key]}")
    if status.valid:
        print(f"  entitlements: {', '.join(status.entitlements) or '-'}")
        print(f"  refresh due: {'yes' if status.refresh_due else 'no'}")


def _report_failure(args: argparse.Namespace, exc: Exception) -> int:
    """Map an exception to its exit code and report it."""
    code, kind = _classify(exc)
    error_code = getattr(exc, "code", None) if isinstance(exc, errors.ClientError) else kind.upper()
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    error: dict[str, Any] = {"code": error_code, "message": message, "kind": kind}
    if isinstance(exc, errors.LicenseError):
        error.update(status=exc.status, errors=exc.errors)
    if isinstance(exc, errors.RateLimited) and exc.retry_after is not None:
        error["retry_after"] = exc.retry_after
        message += f" (try again in {int(exc.retry_after)} s)"
    _say(f"tessera-client: {message}")
    if args.json:
        _emit_json({"ok": False, "command": args.command, "error": error, "exit_code": code})
    return code


def _classify(exc: Exception) -> tuple[int, str]:
    """Return the exit code and kind for a failure."""
    table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], int, str]] = [
        ((UsageError, ValueError), EXIT_USAGE, "usage"),
        (
            (errors.TransientServiceError, errors.ServiceUnreachable, errors.ProtocolError),
            EXIT_UNAVAILABLE,
            "unavailable",
        ),
        (errors.LicenseError, EXIT_REFUSED, "refused"),
        ((errors.LeaseInvalid, errors.OfflineFileInvalid), EXIT_LEASE_INVALID, "lease_invalid"),
        (errors.NotActivated, EXIT_NOT_ACTIVATED, "not_activated"),
        ((errors.LocalStateError, OSError), EXIT_LOCAL, "local"),
    ]
    for types, code, kind in table:
        if isinstance(exc, types):
            return code, kind
    return EXIT_FAILURE, "failure"


def _emit(args: argparse.Namespace, payload: dict[str, Any]) -> None:
    """Print the result as one JSON line when asked to."""
    if args.json:
        _emit_json(payload)


def _emit_json(payload: dict[str, Any]) -> None:
    """Print one JSON object on one line of stdout."""
    print(json.dumps(payload, sort_keys=True, separators=(",", ":")), flush=True)


def _say(message: str) -> None:
    """Tell the person at the terminal something, on stderr."""
    print(message, file=sys.stderr)


def _exit_code_help() -> str:
    """Render the exit codes for --help."""
    return "exit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
