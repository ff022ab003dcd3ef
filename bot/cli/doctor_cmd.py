"""``cratebot doctor``: is this machine ready? An OK/WARN/FAIL table with a fix for each."""

from __future__ import annotations

import argparse

from bot.cli.common import add_home, guarded, print_json, settings_from_args


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check ffmpeg, PortAudio, database, broker, weights, tokens, network, disk",
        description="Check what CrateBot needs on this machine and say how to fix what is "
        "missing. Exits 1 when a check FAILs.",
    )
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    add_home(parser)
    parser.set_defaults(func=guarded(_doctor))


def _doctor(args: argparse.Namespace) -> int:
    from bot.cli.doctor import run_checks

    settings = settings_from_args(args)
    checks = run_checks(settings)
    if args.json:
        print_json([c.__dict__ for c in checks])
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            line = f"{c.level:<4}  {c.name:<{width}}  {c.detail}"
            if c.fix and c.level != "OK":
                line += f"\n      {'':<{width}}  fix: {c.fix}"
            print(line)
        fails = sum(c.level == "FAIL" for c in checks)
        warns = sum(c.level == "WARN" for c in checks)
        print(f"{len(checks)} checks: {fails} FAIL, {warns} WARN")
    return 1 if any(c.level == "FAIL" for c in checks) else 0
