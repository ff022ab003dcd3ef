"""The command layer's public interface: what every chat front-end builds on.

A front-end (Discord, Telegram, the terminal chat) turns a user's action into a
:class:`CommandContext` plus either the raw text (``"/stems https://... minus=vocals"``)
or an already structured :class:`Command` (Discord slash options, a Telegram
inline-keyboard choice), and iterates the updates the layer yields::

    from bot.commands import CommandLayer, CommandContext, Command, Progress, Reply

    layer = CommandLayer(settings, runner, db)     # runner: a started core.jobs.runner.JobRunner
    ctx = CommandContext(platform="telegram", user_id="42", chat_id="-1001",
                         is_admin=True, display_name="dj", attachments=[Path(upload)])
    async for update in layer.handle(ctx, "/stems minus=vocals"):
        if isinstance(update, Progress):
            ...  # edit your status message (throttle yourself: Discord 2 s, Telegram 1 s)
        else:  # Reply: always the last update, exactly once
            for item in update.files:   # ResultFile: path, name, size_bytes, url
                ...  # attach when item.size_bytes fits, else send item.url / layer.link_for()

Invariants a front-end can rely on:

* ``handle`` yields zero or more :class:`Progress` and then exactly one :class:`Reply`,
  then stops. It never raises for the user's mistakes, unknown commands, missing
  permissions, quotas or unavailable pipelines: those come back as
  ``Reply(error=True, text=...)`` with a clear message. (Programming errors still raise.)
* Commands that start a job yield a first ``Progress`` with ``state="queued"`` (or the
  current state of an equal job reused through dedupe, then ``Progress.reused`` is True:
  the runner's ``submit`` says so in its ``Submission``) as soon as the job id is known,
  usually well under a second after the call: that is the moment to defer/acknowledge.
* Progress comes as often as the runner reports it (up to ~10 per second); coalesce
  with :func:`bot.commands.throttle.latest_every` or your own timer.
* Leaving the iteration early (``aclose()``, a task cancelled) does NOT cancel the job;
  re-attach later with :meth:`CommandLayerAPI.follow`. Users cancel with ``/cancel ID``.
* All text is plain (no Markdown/HTML markup); front-ends escape it as they need.
* ``Reply.sensitive_input`` is True when the user's message contained a secret
  (``/pi link HOST PORT TOKEN``): delete the user's message if the platform allows.

Sources: ``/id``, ``/stems`` and ``/sections`` take a SOURCE (a link). When the user
attached files, put their downloaded local paths in ``CommandContext.attachments`` and
omit the SOURCE: the first attachment is used (all of them for ``/sections``).
Local filesystem paths typed by a user are only accepted when
``CommandContext.allow_local_paths`` is True (the terminal chat only): a chat user must
never be able to make the bot read files on its host.

Front-end entry points (``bot/telegram/frontend.py``, ``bot/discord/frontend.py``),
called by ``cratebot serve`` with a started runner and layer::

    async def run_telegram(settings: Settings, layer: CommandLayer, stop: asyncio.Event) -> None
    async def run_discord(settings: Settings, layer: CommandLayer, stop: asyncio.Event) -> None

They stop taking commands as soon as ``stop`` is set, close their connections and
return. Jobs keep running in the runner; ``serve`` stops it afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

Platform = Literal["discord", "telegram", "terminal"] | str

# -- input --------------------------------------------------------------------------


@dataclass(frozen=True)
class CommandContext:
    """Who asks, where, and with which uploaded files.

    platform:    "discord", "telegram" or "terminal" (any short string works).
    user_id:     the platform's user id, as a string.
    chat_id:     where a Pi link lives: the Discord *server* (guild) id, the Telegram
                 *chat* id; for Discord DMs use f"dm:{user_id}". The terminal uses "local".
    is_admin:    the front-end's verdict: Discord "Manage Server" permission, Telegram
                 chat administrator/creator (private chat: the user is admin of it).
                 The layer additionally treats ids in ``Settings.admin_user_ids`` and
                 roles in ``Settings.admin_roles`` as admins.
    display_name: shown in job listings; optional.
    attachments: local paths of files the user uploaded with this command (already
                 downloaded by the front-end, size-checked against the platform limit).
    roles:       Discord role ids and names of the user in that server (for the
                 configured admin roles); empty elsewhere.
    allow_local_paths: True only for the terminal chat (see module docstring).
    """

    platform: str
    user_id: str
    chat_id: str
    is_admin: bool = False
    display_name: str | None = None
    attachments: tuple[Path, ...] | list[Path] = ()
    roles: tuple[str, ...] = ()
    allow_local_paths: bool = False


@dataclass(frozen=True)
class Command:
    """A parsed command: canonical ``name`` plus validated-later keyword ``args``.

    Each command is declared once in ``bot/commands/defs/<name>.py`` (its arguments
    dataclass is the authority; ``CommandLayerAPI.specs`` lists them for front-ends).
    Names and their args (all optional unless marked; values may be strings, the layer
    converts and validates them exactly like typed text; unknown args are ignored):

    ``id``        source (link; or an attachment), recognizers ("local,shazam,audd")
    ``stems``     source, model ("htdemucs"), minus (stem name: "vocals" gives a
                  backing track without vocals), format ("mp3"|"wav"|"flac")
    ``sections``  sources (list of links; or attachments), bpm (REQUIRED, number),
                  delta (+- BPM window, 2), key ("Am,Cm", any notation), harmonic (bool),
                  target (target BPM, default bpm), bars (16), mix_bars
    ``bpm``       value (REQUIRED, 40..250), ramp (seconds, 0..600)
    ``bpm_auto``  on (REQUIRED bool; "on"/"off"/"1"/"0"/true/false)
    ``pi_link``   host (REQUIRED), port (REQUIRED, 1..65535), token (REQUIRED)
    ``pi_unlink`` -
    ``pi_status`` -
    ``jobs``      -
    ``cancel``    job_id (REQUIRED)
    ``help``      topic (a command name)

    Build one from text with :meth:`CommandLayerAPI.parse`, or directly from a
    front-end's structured options, e.g. ``Command("bpm", {"value": 124, "ramp": 8})``.
    """

    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptionSpec:
    """One option of a command, for front-ends that declare commands (slash commands)."""

    name: str
    type: Literal["str", "int", "float", "bool", "attachment"]
    description: str
    required: bool = False
    choices: tuple[str, ...] = ()
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class CommandSpec:
    """A command as front-ends should register it.

    ``name`` is the canonical :class:`Command` name. ``text`` is how it is typed
    ("/pi link" for ``pi_link``, "/bpm auto" for ``bpm_auto``). ``job_kind`` is the
    runner job kind it starts (None for instant commands). ``admin_only`` commands are
    refused to non-admins by the layer anyway; a front-end may also hide them.
    ``private`` commands are answered to the asking user only where the platform
    allows (Discord ephemeral replies).
    """

    name: str
    text: str
    usage: str
    description: str
    options: tuple[OptionSpec, ...] = ()
    admin_only: bool = False
    job_kind: str | None = None
    takes_attachments: bool = False
    private: bool = False


# -- output -------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFile:
    """One published result file. ``path`` is readable by this process.

    ``url`` is a signed, expiring download link (``Settings.public_url`` + ``/dl/...``)
    that works while ``cratebot serve`` runs; None when the layer was built without
    links (the terminal chat). ``content_type`` is a best guess from the name.
    """

    job_id: str
    name: str
    path: Path
    size_bytes: int
    content_type: str = "application/octet-stream"
    url: str | None = None


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class TrackRow:
    """One line of an identified tracklist (for an embed/table); unknown: title None."""

    start_s: float
    end_s: float
    artist: str | None
    title: str | None
    confidence: float | None = None
    sources: tuple[str, ...] = ()
    speed: float | None = None  # 1.06 = played 6 % fast; None when unknown

    @property
    def label(self) -> str:
        if not self.title:
            return "unknown"
        return f"{self.artist} — {self.title}" if self.artist else self.title

    @property
    def speed_text(self) -> str:
        """``+6.0%`` when the DJ changed the speed noticeably, else empty."""
        if self.speed is None or abs(self.speed - 1.0) < 0.005:
            return ""
        return f"{(self.speed - 1) * 100:+.1f}%"


@dataclass(frozen=True)
class Progress:
    """A job advanced. ``state``: queued|running|succeeded|failed|cancelled.

    ``text`` is a short human line ("separating 3/8", "queued"); ``fraction`` 0..1.
    ``reused`` is True when dedupe attached this command to an equal existing job.
    """

    job_id: str
    kind: str
    fraction: float
    text: str
    state: str = "running"
    reused: bool = False


@dataclass(frozen=True)
class Reply:
    """The final answer of a command.

    text:     plain text to show (multi-line allowed; may be long: split as you need).
    title:    a short headline ("Tracklist (12 tracks)"), for embeds; may be None.
    error:    True when the command failed or was refused (text says why).
    job_id:   the job this answers, when the command ran one.
    files:    deliverable files (attach when small enough, else link); the primary first.
    images:   images to show inline (e.g. the identify timeline PNG).
    links:    extra links (e.g. the whole results folder's files) to list.
    tracks:   the tracklist rows of an ``/id`` result (empty otherwise).
    sensitive_input: the user's message held a secret; delete it if you can.
    data:     the raw JSON-safe result for front-ends wanting more (may be empty).
    reused:   the job was not run again: an earlier result of the same input and options.
    """

    text: str
    title: str | None = None
    error: bool = False
    job_id: str | None = None
    files: tuple[ResultFile, ...] = ()
    images: tuple[ResultFile, ...] = ()
    links: tuple[Link, ...] = ()
    tracks: tuple[TrackRow, ...] = ()
    sensitive_input: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    reused: bool = False


Update = Progress | Reply


# -- the layer ----------------------------------------------------------------------


class CommandLayerAPI(Protocol):
    """What :class:`bot.commands.layer.CommandLayer` offers (construct it with
    ``CommandLayer(settings, runner, db, links=True)``; ``links=False`` leaves
    ``ResultFile.url`` None)."""

    specs: tuple[CommandSpec, ...]
    """Every command, in help order (for slash-command registration, set_my_commands);
    derived from the definitions in ``bot/commands/defs/``."""

    settings: Any
    """The ``core.settings.Settings`` the layer runs with (limits, public_url, ...)."""

    def stop_accepting(self) -> None:
        """Every later command answers that the bot is shutting down (``serve`` calls it
        on SIGTERM before front-ends are told to stop)."""
        ...

    def parse(self, text: str) -> Command:
        """Parse typed text ("/bpm 124 8", "/pi link h 9000 tok", "bpm 124").

        Raises :class:`core.errors.BadInput` with the usage line on malformed input.
        A leading "/" is optional; "@BotName" after the command word is ignored.
        """
        ...

    def handle(self, ctx: CommandContext, command: str | Command) -> AsyncIterator[Update]:
        """Run one command; see the module docstring for the update sequence."""
        ...

    def follow(self, ctx: CommandContext, job_id: str) -> AsyncIterator[Update]:
        """Progress and the final Reply of an existing job (e.g. after a restart)."""
        ...

    def link_for(self, job_id: str, name: str, ttl_s: float | None = None) -> str:
        """A signed download URL for a published file (default TTL Settings.link_ttl_s).

        Raises ValueError when ``name`` would leave the job's results folder.
        """
        ...

    def upload_path(self, ctx: CommandContext, filename: str) -> Path:
        """A fresh path (under the layer's uploads folder) to save an uploaded file to.

        The name is sanitized; the folder exists. Save the upload there and pass the path
        in ``CommandContext.attachments``. The layer removes uploads after
        ``Settings.result_retention_days``.
        """
        ...

    def is_admin(self, ctx: CommandContext) -> bool:
        """The front-end's verdict or the configured admin ids/roles."""
        ...

    def help_text(self, topic: str | None = None) -> str:
        """Plain help for all commands or one."""
        ...
