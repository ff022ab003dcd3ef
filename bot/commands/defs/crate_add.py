"""/crate add: audio files (uploads, links; in the terminal, files or folders) into the
chat's crate, fingerprinted and analysed."""

from __future__ import annotations

from dataclasses import dataclass

from bot.commands.crates import add_params, render_crate_add
from bot.commands.define import CommandDef, option


@dataclass(frozen=True)
class CrateAddArgs:
    sources: list[str] | None = option(
        "links, separated by spaces (or attach audio files)", source=True, positional=True
    )


COMMAND = CommandDef(
    "crate_add",
    "/crate add",
    "/crate add SOURCE... (or attach audio files)",
    "add tracks to this chat's crate (for /id, /sections crate and /next)",
    order=32,
    args=CrateAddArgs,
    attachments=True,
    job_kind="crate_add",
    render=render_crate_add,
    prepare=add_params,
)
