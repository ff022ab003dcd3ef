"""``cratebot.example.toml``: every setting, its environment variable and default.

Generated from :class:`core.settings.Settings` so it cannot drift from the code;
a test compares the committed file with this output. Regenerate with
``python3 -m core.settings_example > cratebot.example.toml``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_core import PydanticUndefined

from core.settings import Settings

HEADER = """\
# CrateBot configuration: copy to $CRATEBOT_HOME/cratebot.toml (default ~/.cratebot/)
# or point CRATEBOT_CONFIG at it. Every key can also be set as the environment variable
# shown (which wins over this file). Lines starting with '#' show the defaults.
"""

_SHOWN_DEFAULTS = {"home": "~/.cratebot"}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, SecretStr):
        return '""'
    if isinstance(value, Path):
        return json.dumps(str(value))
    return json.dumps(str(value))


def render_example() -> str:
    lines = [HEADER]
    for name, field in Settings.model_fields.items():
        if field.description:
            lines.append(f"# {field.description}")
        lines.append(f"# env: CRATEBOT_{name.upper()}")
        if name in _SHOWN_DEFAULTS:
            default: Any = _SHOWN_DEFAULTS[name]
        elif field.default_factory is not None:
            default = None
        else:
            default = field.default
        if default is None or default is PydanticUndefined or default == "":
            lines.append(f'# {name} = ""')
        else:
            lines.append(f"# {name} = {_toml_value(default)}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(render_example(), end="")
