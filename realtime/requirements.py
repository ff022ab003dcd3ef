"""Print the Raspberry Pi requirement list, space-separated, for ``pip install``.

Used by the Pi install notes: ``pip install $(python -m realtime.requirements)``.
``--with-rubberband`` adds ``pylibrb`` (GPLv2, no aarch64 wheel on PyPI: it builds
from source on a Pi), which enables the optional ``rubberband`` stretch method.
"""

from __future__ import annotations

import sys

PI_REQUIREMENTS: tuple[str, ...] = (
    "numpy>=1.26",
    "soundfile>=0.12",
    "python-osc>=1.8",
    "sounddevice>=0.4.6",
)
RUBBERBAND_REQUIREMENT = "pylibrb>=0.1.2"


def requirements(with_rubberband: bool = False) -> list[str]:
    reqs = list(PI_REQUIREMENTS)
    if with_rubberband:
        reqs.append(RUBBERBAND_REQUIREMENT)
    return reqs


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    unknown = [a for a in args if a != "--with-rubberband"]
    if unknown:
        print(f"unknown argument(s): {' '.join(unknown)}; only --with-rubberband", file=sys.stderr)
        return 2
    print(" ".join(requirements("--with-rubberband" in args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
