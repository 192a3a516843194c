"""Turn a benchmark run into JSON and the markdown of docs/benchmarks.md."""

from __future__ import annotations

import json
import os
import runpy
import statistics
from datetime import datetime
from pathlib import Path

from bench.common import PG_ADMIN_URL, RESULTS, ROOT

DOCS = ROOT / "docs"
NOTES = ROOT / "bench" / "notes.md"
TARGET_CONCURRENCY = 16
TARGETS = {"ratio": 1.0, "sqlite_ratio": 0.8, "p99_vs_floor": 1.2, "scale": 1.2,
           "code_vs_floor": 0.5, "purge_s": 60.0, "export_s": 2.0, "free": 0.95}
# The second wave's rows (bench.run.second_wave): key, what is compared, the two loads.
WAVE = (("metrics", "refresh with metrics on ≥ 0.95 × off", "off", "on"),
        ("screening", "refresh screening against a 10,000-row list file ≥ 0.95 × the none "
                      "provider", "none", "file"),
        ("foreign_key", "refresh with 1 in 10 foreign-key refreshes recorded ≥ 0.95 × plain "
                        "(answers/s)", "plain", "mixed"))


def pg_admin_url() -> str:
    return PG_ADMIN_URL


def gunicorn_settings() -> dict:
    """The worker settings config/gunicorn.conf.py gives in this environment."""
    values = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    return {k: values.get(k) for k in ("workers", "threads", "worker_class", "keepalive")}


def _median(values):
    return statistics.median(values) if values else None


def _spread(values, scale=1.0, digits=0):
    """'median (min-max)' of VALUES."""
    if not values:
        return "-"
    fmt = f"{{:.{digits}f}}"
    med, low, high = (fmt.format(v * scale) for v in (_median(values), min(values), max(values)))
    return med if len(values) == 1 else f"{med} ({low}–{high})"


def _ms(values):
    return _spread(values, 1 / 1000, 1)


def refresh_rows(pairs: list[dict]) -> list[dict]:
    """Per concurrency: the repetitions of one backend's refresh pairs."""
    by_concurrency: dict[int, list[dict]] = {}
    for pair in pairs:
        by_concurrency.setdefault(pair["concurrency"], []).append(pair)
    return [{"concurrency": c,
             "tessera_rps": [p["tessera"]["rps"] for p in group],
             "floor_rps": [p["floor"]["rps"] for p in group],
             "ratio": [p["ratio"] for p in group],
             "p50": [p["tessera"]["p50_us"] for p in group],
             "p99": [p["tessera"]["p99_us"] for p in group],
             "floor_p50": [p["floor"]["p50_us"] for p in group],
             "floor_p99": [p["floor"]["p99_us"] for p in group],
             "errors": sum(p["tessera"]["errors"] for p in group)}
            for c, group in sorted(by_concurrency.items())]


def answered(result: dict) -> float:
    """Requests answered per second, refusals included (transport errors are not answers)."""
    failed = sum(result[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return (result["requests"] - failed) / (result["duration_us"] / 1e6)


def _at(rows: list[dict], concurrency: int) -> dict | None:
    return next((r for r in rows if r["concurrency"] == concurrency), None)


def _activation_rows(results: list[dict]) -> list[dict]:
    grouped: dict[int, list[dict]] = {}
    for result in results:
        grouped.setdefault(result["concurrency"], []).append(result)
    return [{"concurrency": c, "rps": [r["rps"] for r in g], "p50": [r["p50_us"] for r in g],
             "p99": [r["p99_us"] for r in g], "errors": sum(r["errors"] for r in g)}
            for c, g in sorted(grouped.items())]


def _pairs(ratios: list[float]) -> str:
    return f"{_median(ratios):.2f} (pairs: {', '.join(f'{r:.2f}' for r in ratios)})"


def _wave_pairs(wave: dict, key: str) -> list[dict]:
    part = wave.get(key) or []
    return part["pairs"] if isinstance(part, dict) else part


def targets(results: dict) -> list[dict]:
    """Each target with its figure and whether it was met in this run."""
    rows = []
    for backend, outcome in results["backends"].items():
        refresh = _at(refresh_rows(outcome["refresh"]), 16)
        code = _at(_activation_rows(outcome.get("activate_code", [])), 16)
        if refresh is None:
            continue
        ratio = _median(refresh["ratio"])
        need = TARGETS["sqlite_ratio"] if backend == "sqlite" else TARGETS["ratio"]
        rows.append({"target": f"refresh ≥ {need} × floor, c=16 ({backend})",
                     "figure": _pairs(refresh["ratio"]), "met": ratio >= need})
        if backend.startswith("postgresql"):
            p99, floor_p99 = _median(refresh["p99"]) / 1000, _median(refresh["floor_p99"]) / 1000
            rows.append({"target": f"refresh p99 ≤ 1.2 × floor p99, c=16 ({backend})",
                         "figure": f"{p99 / floor_p99:.2f} ({p99:.1f} ms against "
                                   f"{floor_p99:.1f} ms, medians of {len(refresh['p99'])})",
                         "met": p99 <= TARGETS["p99_vs_floor"] * floor_p99})
        if code is not None:
            floor = _median(refresh["floor_rps"])
            share = _median(code["rps"]) / floor
            rows.append({"target": f"code activation ≥ 0.5 × floor refresh, c=16 ({backend})",
                         "figure": f"{share:.2f} ({_median(code['rps']):.0f}/s against "
                                   f"{floor:.0f}/s)",
                         "met": share >= TARGETS["code_vs_floor"]})
        wave = outcome.get("second_wave") or {}
        for key, label, _, _ in WAVE:
            pairs = _wave_pairs(wave, key)
            if not pairs:
                continue
            ratios = [r["ratio"] for r in pairs]
            met = _median(ratios) >= TARGETS["free"]
            figure = _pairs(ratios)
            if key == "foreign_key":
                part = wave[key]
                # wrk stops counting with requests in flight (at most c): those were
                # answered and recorded too, so the record may count up to c more.
                figure += f"; {part['refused']:,} answered 401, record count +{part['recorded']:,}"
                met = met and 0 <= part["recorded"] - part["refused"] <= len(pairs) * TARGET_CONCURRENCY
            rows.append({"target": f"{label}, c=16 ({backend})", "figure": figure, "met": met})
        floating = outcome.get("floating_refresh")
        if floating:
            ratios = [r["ratio"] for r in floating]
            rows.append({"target": f"floating refresh ≥ 0.95 × node-locked refresh, c=16 "
                                   f"({backend})",
                         "figure": _pairs(ratios), "met": _median(ratios) >= TARGETS["free"]})
        scale = outcome.get("scale")
        if scale:
            for concurrency in (1, 16):
                ratios = [r["ratio_p50"] for r in scale["rounds"] if r["concurrency"] == concurrency]
                if ratios:
                    med = _median(ratios)
                    rows.append({"target": f"refresh median at {scale['big_seats']:,} ≤ 1.2 × at "
                                           f"{scale['small_seats']:,} seats, c={concurrency}",
                                 "figure": f"×{med:.2f} (rounds: "
                                           f"{', '.join(f'{r:.2f}' for r in ratios)})",
                                 "met": med <= TARGETS["scale"]})
    for key, label in (("purge_1m", "purge of 1M expired rows ≤ 60 s, flat memory"),
                       ("export_10k", "export of an account with 10k seats ≤ 2 s"),
                       ("proof_purge_10x", "purge clears a minute of spent proofs at 10 × the "
                                           "refresh rate in < 60 s")):
        row = results.get("privacy", {}).get(key, {})
        rows.append({"target": label, "figure": row.get("figure", row.get("status", "-")),
                     "met": row.get("met")})
    return rows


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        "# Benchmarks", "",
        "Written by `make bench` (bench/run.py) from the run below; numbers are from a shared,",
        "noisy 2-core machine, so every refresh figure is the median of several repetitions",
        "with the spread (min–max) beside it, and Tessera is compared with a floor app run",
        "back to back on the same gunicorn settings and database.", "",
        f"- Command: `{results['command']}`",
        f"- Run: {results['started_at']}, {results['elapsed_seconds'] / 60:.1f} min, commit "
        f"{m['commit']}{' (BENCH_QUICK smoke run)' if results['quick'] else ''}",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}; "
        f"Python {m['python']}, PostgreSQL {m['postgresql']}, SQLite {m['sqlite']}, {m['wrk']}",
        f"- gunicorn (config/gunicorn.conf.py): {m['gunicorn']}",
        f"- Load: wrk, {results['settings']['seconds']:g} s per phase, concurrencies "
        f"{results['settings']['concurrency']}, {results['settings']['repetitions']} "
        f"repetition(s); {results['settings']['seats']:,} seats seeded (10 per license), "
        "every request a unique, valid DPoP proof (pre-generated just before its phase)",
        "", "## Targets", "", "| target | this run | met |", "|---|---|---|"]
    for row in targets(results):
        met = {True: "yes", False: "**no**", None: "n/a"}[row["met"]]
        lines.append(f"| {row['target']} | {row['figure']} | {met} |")
    for backend, outcome in results["backends"].items():
        lines += ["", f"## Refresh against the floor — {backend}", "",
                  "| c | Tessera req/s | floor req/s | ratio | Tessera p50 ms | Tessera p99 ms "
                  "| floor p50 ms | floor p99 ms | errors |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in refresh_rows(outcome["refresh"]):
            lines.append(f"| {r['concurrency']} | {_spread(r['tessera_rps'])} | "
                         f"{_spread(r['floor_rps'])} | {_spread(r['ratio'], digits=2)} | "
                         f"{_ms(r['p50'])} | {_ms(r['p99'])} | {_ms(r['floor_p50'])} | "
                         f"{_ms(r['floor_p99'])} | {r['errors']} |")
        for kind, title in (("activate_code", "Activation by code"),
                            ("activate_password", "Activation by password (argon2id)")):
            if kind not in outcome:
                continue
            lines += ["", f"### {title} — {backend}", "",
                      "| c | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|"]
            for r in _activation_rows(outcome[kind]):
                lines.append(f"| {r['concurrency']} | {_spread(r['rps'], digits=1)} | "
                             f"{_ms(r['p50'])} | {_ms(r['p99'])} | {r['errors']} |")
        floating = outcome.get("floating_refresh")
        if floating:
            lines += ["", f"### Floating against node-locked refresh — {backend}", "",
                      "| c | floating req/s | node-locked req/s | ratio | floating p50 ms | "
                      "node-locked p50 ms | floating p99 ms | node-locked p99 ms | errors |",
                      "|---|---|---|---|---|---|---|---|---|"]
            fl, nl = ([r[mode] for r in floating] for mode in ("floating", "node_locked"))
            lines.append(
                f"| {floating[0]['concurrency']} | {_spread([r['rps'] for r in fl])} | "
                f"{_spread([r['rps'] for r in nl])} | "
                f"{_spread([r['ratio'] for r in floating], digits=2)} | "
                f"{_ms([r['p50_us'] for r in fl])} | {_ms([r['p50_us'] for r in nl])} | "
                f"{_ms([r['p99_us'] for r in fl])} | {_ms([r['p99_us'] for r in nl])} | "
                f"{sum(r['errors'] for r in fl)} |")
        wave = outcome.get("second_wave")
        if wave:
            lines += ["", f"### The second wave on the refresh path — {backend}", "",
                      "Each row: two loads at c=16, back to back in alternating order, "
                      "ratio = second / first of the same round.", "",
                      "| what | first | first req/s | second | second req/s | ratio | "
                      "first p99 ms | second p99 ms |", "|---|---|---|---|---|---|---|---|"]
            for key, label, first, second in WAVE:
                pairs = _wave_pairs(wave, key)
                if not pairs:
                    continue
                rate = (lambda r: r["rps"]) if key != "foreign_key" else answered
                lines.append(
                    f"| {key} | {first} | {_spread([rate(r[first]) for r in pairs])} | {second} | "
                    f"{_spread([rate(r[second]) for r in pairs])} | "
                    f"{_spread([r['ratio'] for r in pairs], digits=2)} | "
                    f"{_ms([r[first]['p99_us'] for r in pairs])} | "
                    f"{_ms([r[second]['p99_us'] for r in pairs])} |")
            accounts = wave.get("screening", {}).get("accounts")
            if accounts:
                lines += ["", f"`flask compliance screen-accounts` screened {accounts['accounts']:,} "
                          f"accounts against the 10,000-row list in {accounts['seconds']:.1f} s "
                          f"({accounts['hits']} hits); a refresh then reads each verdict with "
                          "its seat."]
        scale = outcome.get("scale")
        if scale:
            lines += ["", f"### Refresh latency by table size — {backend}", "",
                      f"{scale['big_seats']:,} seats seeded in {scale['seed_seconds']:.0f} s "
                      "(COPY). Rounds alternate between the two servers.", "",
                      f"| c | p50 ms at {scale['small_seats']:,} | p50 ms at "
                      f"{scale['big_seats']:,} | ratio | p99 ms at {scale['small_seats']:,} | "
                      f"p99 ms at {scale['big_seats']:,} |", "|---|---|---|---|---|---|"]
            for c in sorted({r["concurrency"] for r in scale["rounds"]}):
                rounds = [r for r in scale["rounds"] if r["concurrency"] == c]
                lines.append(
                    f"| {c} | {_ms([r['small']['p50_us'] for r in rounds])} | "
                    f"{_ms([r['big']['p50_us'] for r in rounds])} | "
                    f"{_spread([r['ratio_p50'] for r in rounds], digits=2)} | "
                    f"{_ms([r['small']['p99_us'] for r in rounds])} | "
                    f"{_ms([r['big']['p99_us'] for r in rounds])} |")
    hashing = results["password_hash"]
    lines += ["", "## Password hashing", "",
              f"argon2id {hashing['parameters']}: hash {hashing['hash_ms']:.0f} ms, verify "
              f"{hashing['verify_ms']:.0f} ms (median of 5, one process). Activation by password "
              "is bounded by this by design.", "", "## Privacy jobs", ""]
    for key, row in results.get("privacy", {}).items():
        lines.append(f"- {key}: {row.get('figure', row['status'])} — {row['detail']}")
    if NOTES.exists():
        lines += ["", NOTES.read_text(encoding="utf-8").rstrip()]
    return "\n".join(lines) + "\n"


def write(results: dict) -> Path:
    """Write the JSON and the markdown; print the markdown."""
    settings = " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                        if k.startswith(("BENCH_", "WEB_CONCURRENCY", "GUNICORN_THREADS")))
    results.setdefault("command", f"{settings} make bench".strip())
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=1, default=str)
    (RESULTS / f"bench-{stamp}.json").write_text(text, encoding="utf-8")
    (RESULTS / "latest.json").write_text(text, encoding="utf-8")
    document = markdown(results)
    target = Path(os.environ.get("BENCH_MARKDOWN", DOCS / "benchmarks.md"))
    if not results["quick"] or "BENCH_MARKDOWN" in os.environ:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(document, encoding="utf-8")
        target.with_suffix(".json").write_text(text, encoding="utf-8")
    else:
        target = RESULTS / "benchmarks-quick.md"
        target.write_text(document, encoding="utf-8")
    print(document)
    print(f"written: {target} and {RESULTS / 'latest.json'}")
    return target


def main() -> int:
    """Re-render docs/benchmarks.md from a saved run: python -m bench.report [results.json]."""
    import sys

    source = Path(sys.argv[1]) if len(sys.argv) > 1 else RESULTS / "latest.json"
    results = json.loads(source.read_text(encoding="utf-8"))
    document = markdown(results)
    target = DOCS / "benchmarks.md" if not results["quick"] else RESULTS / "benchmarks-quick.md"
    target.write_text(document, encoding="utf-8")
    print(document)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
