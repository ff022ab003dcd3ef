"""How a command is declared, and what is derived from the declaration.

A command is one module in :mod:`bot.commands.defs` holding a :class:`CommandDef`
named ``COMMAND``. Its arguments are a frozen dataclass whose fields carry
:func:`option` metadata (description, range, choices, required, aliases, ...).
From that one declaration come:

* chat-text parsing (:mod:`bot.commands.parse`: option names, aliases, bare words),
* validation and conversion (:func:`bind`: ranges, choices, required, custom checks),
* help (:mod:`bot.commands.help`), the :class:`CommandSpec` list front-ends register
  (Discord slash commands in :mod:`bot.discord.slash`, Telegram's command menu),
* dispatch (``run`` for instant commands; ``render`` of the finished job for commands
  that start one).

Hand-written rather than pydantic models: the error messages are part of the chat
contract ("BPM 300 is out of range: use 40 to 250") and arguments arrive as loose
strings from chat or typed values from Discord; a few dozen lines of conversion keep
both exact without fighting a validation library's own wording.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bot.commands import validate as v
from bot.commands.api import CommandContext, CommandSpec, OptionSpec, Reply
from bot.commands.render import Renderer

if TYPE_CHECKING:
    from bot.commands.layer import CommandLayer

OptionType = Literal["str", "int", "float", "bool"]
_META = "cratebot"


@dataclass(frozen=True)
class Meta:
    """What a field of a command's argument dataclass means to users.

    label:      the name used in error messages ("BPM"); default the field name.
    unit:       a suffix users may type after a number ("8s").
    check:      converts and checks a value instead of the type's rule (host, token).
    aliases:    other ``key=`` names accepted for this option.
    positional: may be given as a bare word; bare words fill positional fields in order.
    rest:       the positional field takes all remaining words joined (help topic).
    source:     a link/upload (or a list of them): resolved by the layer, not converted.
    param:      the key in the job's params (default: the field name).
    """

    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None
    label: str | None = None
    unit: str = ""
    check: Callable[[Any], Any] | None = None
    aliases: tuple[str, ...] = ()
    positional: bool = False
    rest: bool = False
    source: bool = False
    param: str | None = None


def option(description: str, *, default: Any = None, **meta: Any) -> Any:
    """A field of a command's argument dataclass (see :class:`Meta` for ``meta``)."""
    return field(default=default, metadata={_META: Meta(description, **meta)})


@dataclass(frozen=True)
class Option:
    """One argument, read from a field of the arguments dataclass."""

    name: str
    type: OptionType
    many: bool
    meta: Meta

    @property
    def label(self) -> str:
        return self.meta.label or self.name

    @property
    def param(self) -> str:
        return self.meta.param or self.name

    def spec(self) -> OptionSpec:
        m = self.meta
        return OptionSpec(
            self.name, self.type, m.description, m.required, m.choices, m.min_value, m.max_value
        )

    def convert(self, value: Any) -> Any:
        """The value checked and converted; raises BadInput naming the option."""
        m = self.meta
        if m.check is not None:
            return m.check(value)
        if self.type == "bool":
            return v.flag(value, self.label)
        if self.type in ("float", "int"):
            low = -float("inf") if m.min_value is None else m.min_value
            high = float("inf") if m.max_value is None else m.max_value
            if self.type == "int":
                return v.integer(value, self.label, int(low), int(high))
            return v.number(value, self.label, low, high, unit=m.unit)
        if m.choices:
            return v.choice(value, self.label, m.choices)
        return str(value).strip()


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_TYPES: dict[Any, OptionType] = {str: "str", int: "int", float: "float", bool: "bool"}


def _option_type(hint: Any) -> tuple[OptionType, bool]:
    """``float | None`` -> ("float", False); ``list[str] | None`` -> ("str", True)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(inner) != 1:
            raise TypeError(f"an option must have one type, not {hint}")
        hint = inner[0]
    if typing.get_origin(hint) in (list, tuple):
        return _option_type(typing.get_args(hint)[0])[0], True
    if hint not in _TYPES:
        raise TypeError(f"unsupported option type {hint}")
    return _TYPES[hint], False


def options_of(args: type) -> tuple[Option, ...]:
    hints = typing.get_type_hints(args)
    found = []
    for f in dataclasses.fields(args):
        meta = f.metadata.get(_META)
        if not isinstance(meta, Meta):
            raise TypeError(f"{args.__name__}.{f.name} is not declared with option()")
        kind, many = _option_type(hints[f.name])
        found.append(Option(f.name, kind, many, meta))
    return tuple(found)


@dataclass(frozen=True)
class NoArgs:
    """The arguments of a command that takes none."""


# Bare words a command reads in its own way: (args so far, words, command) -> args.
WordReader = Callable[[dict[str, Any], list[str], "CommandDef"], dict[str, Any]]
# An instant command: (layer, who asks, its arguments) -> the reply.
Runner = Callable[["CommandLayer", CommandContext, Any], Awaitable[Reply]]


UploadReader = Callable[[Sequence[Path]], tuple[list[Path], dict[str, Any]]]


@dataclass(frozen=True)
class CommandDef:
    """One command, declared once.

    name:        the canonical :class:`Command` name ("pi_link").
    text:        how it is typed ("/pi link"); a second word makes it a subcommand.
    usage:       the usage line shown with errors and in help.
    description: one line for help, Discord and Telegram's menu.
    args:        the frozen dataclass of its arguments (fields from :func:`option`).
    order:       its place in help and menus.
    admin_only:  refused to non-admins.
    aliases:     other words that type it ("identify" for /id).
    attachments: takes uploaded files (Discord shows a ``file`` option after the source).
    words:       reads bare words its own way (default: positional fields in order).
    run:         the instant command's logic; exactly one of ``run`` and ``job_kind``.
    job_kind:    the runner job kind it starts, with ``render`` for the finished job.
    private:     front-ends answer only the asking user where they can (Discord).
    uploads:     takes some attachments as job params (``/sections``' DJ collection);
                 returns the attachments left for the source options and the params.
    upload_options: the attachment options ``uploads`` reads (Discord shows them).
    """

    name: str
    text: str
    usage: str
    description: str
    order: int
    args: type = NoArgs
    admin_only: bool = False
    aliases: tuple[str, ...] = ()
    attachments: bool = False
    words: WordReader | None = None
    run: Runner | None = None
    job_kind: str | None = None
    render: Renderer | None = None
    private: bool = False
    uploads: UploadReader | None = None
    upload_options: tuple[OptionSpec, ...] = ()

    def __post_init__(self) -> None:
        if (self.run is None) == (self.job_kind is None):
            raise TypeError(f"{self.name}: give exactly one of run= and job_kind=")
        if self.job_kind is not None and self.render is None:
            raise TypeError(f"{self.name}: a job command needs render=")

    @functools.cached_property
    def options(self) -> tuple[Option, ...]:
        return options_of(self.args)

    @functools.cached_property
    def by_option(self) -> Mapping[str, Option]:
        """Every accepted ``key=`` name, aliases included, to its option."""
        names: dict[str, Option] = {}
        for opt in self.options:
            for key in (opt.name, *opt.meta.aliases):
                names[key] = opt
        return names

    @functools.cached_property
    def spec(self) -> CommandSpec:
        specs: list[OptionSpec] = []
        for opt in self.options:
            specs.append(opt.spec())
            if opt.meta.source and self.attachments:
                specs.append(OptionSpec("file", "attachment", "an audio file instead of a link"))
        specs.extend(self.upload_options)
        return CommandSpec(
            self.name,
            self.text,
            self.usage,
            self.description,
            tuple(specs),
            admin_only=self.admin_only,
            job_kind=self.job_kind,
            takes_attachments=self.attachments,
            private=self.private,
        )

    @property
    def words_of_text(self) -> tuple[str, ...]:
        return tuple(self.text.lstrip("/").lower().split())


SourceResolver = Callable[[Option, list[str]], Awaitable[list[str]]]


async def bind(command: CommandDef, given: Mapping[str, Any], sources: SourceResolver) -> Any:
    """The command's argument dataclass from loose values, checked field by field in
    declaration order (so the first problem a user sees is the first in the usage).

    Blank values count as not given; unknown keys are ignored (front-ends may send
    more than a command reads). Source options are handed to ``sources`` to resolve.
    """
    values: dict[str, Any] = {}
    for opt in command.options:
        value = given.get(opt.name)
        if opt.meta.source:
            if isinstance(value, str):
                words = value.split() if opt.many else [value]
            else:
                words = [str(w) for w in value or () if not _is_blank(w)]
            resolved = await sources(opt, [w for w in words if w.strip()])
            values[opt.name] = resolved if opt.many else resolved[0]
            continue
        if _is_blank(value):
            if opt.meta.required:
                raise v.missing(opt.name, command.usage)
            continue
        values[opt.name] = opt.convert(value)
    return command.args(**values)


def job_params(command: CommandDef, args: Any) -> dict[str, Any]:
    """The job's params: every given argument under its param name."""
    params: dict[str, Any] = {}
    for opt in command.options:
        value = getattr(args, opt.name)
        if value is not None:
            params[opt.param] = value
    return params
