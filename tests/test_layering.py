"""The layers import only downwards: read from the source, lazy imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# package -> top-level packages it must never import
FORBIDDEN = {
    "core": ("bot", "discord", "telegram"),
    "storage": ("core", "bot", "discord", "telegram"),
    "realtime": ("bot", "core", "storage"),
}


def imported_packages(path: Path) -> set[str]:
    """Top-level names of every module ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in sorted(imported_packages(path) & set(FORBIDDEN[package])):
            bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layers_import_only_downwards(package: str) -> None:
    assert violations(package) == []


def test_the_check_sees_lazy_and_from_imports(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "import os\n"
        "from bot.commands import api\n"
        "def f():\n"
        "    import storage.db\n"
        "    from . import sibling\n"
    )
    assert imported_packages(source) == {"os", "bot", "storage"}
