"""Every command the layer knows: names, usage, options and help text."""

from __future__ import annotations

from bot.commands.api import CommandSpec, OptionSpec

# Mirrors core.stems.writers.FORMATS; importing that module would pull in scipy at
# start-up for every front-end, and the job re-validates anyway.
STEM_FORMATS = ("mp3", "wav", "flac")
STEM_NAMES = ("vocals", "drums", "bass", "other", "guitar", "piano")
RECOGNIZERS = ("local", "shazam", "audd")

_SOURCE = OptionSpec("source", "str", "a link to the audio (or attach a file)")
_FILE = OptionSpec("file", "attachment", "an audio file instead of a link")

SPECS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "id",
        "/id",
        "/id SOURCE [recognizers]",
        "identify the tracks of a DJ mix: tracklist, CUE sheet and timeline",
        (_SOURCE, _FILE, OptionSpec("recognizers", "str", "comma-separated: local,shazam,audd")),
        job_kind="identify",
        takes_attachments=True,
    ),
    CommandSpec(
        "stems",
        "/stems",
        "/stems SOURCE [model] [minus] [format]",
        "split a track into stems (vocals, drums, bass, other); 'minus' also makes a "
        "backing track without that stem",
        (
            _SOURCE,
            _FILE,
            OptionSpec("model", "str", "Demucs model (default htdemucs)"),
            OptionSpec("minus", "str", "make a mix without this stem", choices=STEM_NAMES),
            OptionSpec("format", "str", "audio format of the stems", choices=STEM_FORMATS),
        ),
        job_kind="stems",
        takes_attachments=True,
    ),
    CommandSpec(
        "sections",
        "/sections",
        "/sections SOURCE... bpm=BPM [delta=2] [key=Am,Cm] [harmonic] [target=BPM] "
        "[bars=16] [mix_bars=N]",
        "cut tempo-aligned sections from tracks near a BPM (and key), as a zip with a CSV",
        (
            OptionSpec(
                "bpm",
                "float",
                "the tempo to select around",
                required=True,
                min_value=40,
                max_value=250,
            ),
            OptionSpec("sources", "str", "links, separated by spaces (or attach files)"),
            _FILE,
            OptionSpec(
                "delta",
                "float",
                "accept tracks within +- this many BPM (default 2)",
                min_value=0,
                max_value=50,
            ),
            OptionSpec("key", "str", "keys to accept, e.g. Am,Cm or 8A"),
            OptionSpec("harmonic", "bool", "also accept harmonically compatible keys"),
            OptionSpec(
                "target",
                "float",
                "stretch sections to this BPM (default: bpm)",
                min_value=40,
                max_value=250,
            ),
            OptionSpec(
                "bars", "int", "section length in bars (default 16)", min_value=1, max_value=256
            ),
            OptionSpec(
                "mix_bars",
                "int",
                "bars of mix-in/out room (default bars/4)",
                min_value=0,
                max_value=256,
            ),
        ),
        job_kind="sections",
        takes_attachments=True,
    ),
    CommandSpec(
        "bpm",
        "/bpm",
        "/bpm VALUE [RAMP_SECONDS]",
        "set the venue Pi's tempo, optionally ramping over some seconds",
        (
            OptionSpec("value", "float", "target BPM", required=True, min_value=40, max_value=250),
            OptionSpec(
                "ramp", "float", "seconds to ramp over (default 0)", min_value=0, max_value=600
            ),
        ),
        admin_only=True,
    ),
    CommandSpec(
        "bpm_auto",
        "/bpm auto",
        "/bpm auto on|off",
        "let the Pi follow the crowd's movement (on) or hold the set tempo (off)",
        (OptionSpec("on", "bool", "on or off", required=True),),
        admin_only=True,
    ),
    CommandSpec(
        "pi_link",
        "/pi link",
        "/pi link HOST PORT TOKEN",
        "link this server/chat to a venue Pi (the token is stored encrypted)",
        (
            OptionSpec("host", "str", "the Pi's address", required=True),
            OptionSpec("port", "int", "its UDP port", required=True, min_value=1, max_value=65535),
            OptionSpec("token", "str", "its shared secret", required=True),
        ),
        admin_only=True,
    ),
    CommandSpec(
        "pi_unlink", "/pi unlink", "/pi unlink", "forget this server/chat's Pi", admin_only=True
    ),
    CommandSpec(
        "pi_status",
        "/pi status",
        "/pi status",
        "tempo, decks and health of the linked Pi",
        admin_only=True,
    ),
    CommandSpec("jobs", "/jobs", "/jobs", "your recent jobs and their state"),
    CommandSpec(
        "token",
        "/token",
        "/token",
        "a personal token for the HTTP API (in a private chat with the bot)",
    ),
    CommandSpec(
        "cancel",
        "/cancel",
        "/cancel JOB_ID",
        "cancel one of your jobs",
        (OptionSpec("job_id", "str", "the job's id", required=True),),
    ),
    CommandSpec(
        "help",
        "/help",
        "/help [COMMAND]",
        "what each command does",
        (OptionSpec("topic", "str", "a command name"),),
    ),
)

BY_NAME = {spec.name: spec for spec in SPECS}


def help_text(topic: str | None = None) -> str:
    if topic:
        key = topic.strip().lstrip("/").lower().replace(" ", "_")
        key = {"identify": "id", "auto": "bpm_auto", "pi": "pi_link"}.get(key, key)
        spec = BY_NAME.get(key)
        if spec is None:
            return f"no command {topic!r}; " + ", ".join(s.text for s in SPECS)
        lines = [spec.usage, spec.description]
        lines += [f"  {o.name}: {o.description}" for o in spec.options if o.type != "attachment"]
        if spec.admin_only:
            lines.append("(admins of this server/chat only)")
        return "\n".join(lines)
    lines = ["CrateBot commands:"]
    lines += [
        f"{spec.usage}\n    {spec.description}" + (" (admins)" if spec.admin_only else "")
        for spec in SPECS
    ]
    lines.append("Attach an audio file instead of SOURCE to use an upload.")
    return "\n".join(lines)
