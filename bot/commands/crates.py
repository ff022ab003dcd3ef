"""The logic of /crate add|list|remove|stats, /next, and the crate that /id and
/sections use: one crate per Discord server, Telegram chat, and the terminal."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from bot.commands.api import CommandContext, Reply, ResultFile
from bot.commands.define import NoArgs
from bot.commands.render import tempo_alternatives_text
from core.crates import crate_key
from core.identify.outputs import clock
from core.jobs.runner import JobView

if TYPE_CHECKING:
    from bot.commands.defs.crate_remove import CrateRemoveArgs
    from bot.commands.defs.next import NextArgs
    from bot.commands.layer import CommandLayer


def crate_of(ctx: CommandContext) -> str:
    return crate_key(ctx.platform, ctx.chat_id)


async def add_params(
    layer: CommandLayer, ctx: CommandContext, params: dict[str, Any]
) -> dict[str, Any]:
    added_by = f"{ctx.platform}:{ctx.user_id}"
    return {**params, "crate": crate_of(ctx), "added_by": added_by}


async def identify_params(
    layer: CommandLayer, ctx: CommandContext, params: dict[str, Any]
) -> dict[str, Any]:
    """/id searches the chat's crate too, when it holds anything."""
    from storage.crates import CrateStore

    crate = crate_of(ctx)
    totals = await asyncio.to_thread(lambda: CrateStore(layer.settings.database_url).totals(crate))
    return {**params, "crate": crate} if totals.tracks else params


async def sections_params(
    layer: CommandLayer, ctx: CommandContext, params: dict[str, Any]
) -> dict[str, Any]:
    """``/sections crate bpm=…``: the crate's tracks are the sources (with any given)."""
    from core.crates.manage import crate_paths

    if not params.pop("crate", False):
        return params
    paths = await asyncio.to_thread(crate_paths, layer.settings, crate_of(ctx))
    return {**params, "sources": [*(params.get("sources") or []), *paths]}


def render_crate_add(view: JobView, result: dict[str, Any], files: dict[str, ResultFile]) -> Reply:
    lines = []
    for item in result.get("added") or []:
        name = " — ".join(x for x in (item.get("artist"), item.get("title")) if x) or "?"
        bpm = f"{item['bpm']:.1f} BPM" if item.get("bpm") else "BPM ?"
        if item.get("bpm"):
            bpm += tempo_alternatives_text(item.get("bpm_alternatives"))
        key = f"{item.get('key')} ({item.get('camelot')})" if item.get("key") else "key ?"
        lines.append(f"added {name} · {bpm} · {key}")
    for item in result.get("skipped") or []:
        lines.append(f"skipped {item['source']}: {item['reason']}")
    for item in result.get("failed") or []:
        lines.append(f"not added {item['source']}: {item['reason']}")
    totals = result.get("totals") or {}
    lines.append(
        f"the crate now holds {totals.get('tracks', 0)} track(s), "
        f"{totals.get('hours', 0):.1f} h, {totals.get('size_mb', 0):.0f} MB"
    )
    return Reply(text="\n".join(lines), title="Crate", job_id=view.id, data=result)


async def list_crate(layer: CommandLayer, ctx: CommandContext, args: NoArgs) -> Reply:
    from core.crates.manage import list_crate as listing

    entries = await asyncio.to_thread(listing, layer.settings, crate_of(ctx))
    if not entries:
        return Reply(text="the crate is empty: add tracks with /crate add (attach audio files)")
    lines = []
    for e in entries:
        bpm = f"{e.bpm:.1f} BPM" if e.bpm else "BPM ?"
        if e.bpm:
            bpm += tempo_alternatives_text(list(e.bpm_alternatives))
        key = f"{e.key} {e.camelot}" if e.key else "key ?"
        lines.append(f"{e.number}. {e.label} · {clock(e.duration_s)} · {bpm} · {key}")
    data = [
        {"number": e.number, "label": e.label, "bpm": e.bpm, "key": e.key, "camelot": e.camelot}
        for e in entries
    ]
    return Reply(
        text="\n".join(lines), title=f"Crate ({len(entries)} tracks)", data={"tracks": data}
    )


async def remove_from_crate(
    layer: CommandLayer, ctx: CommandContext, args: CrateRemoveArgs
) -> Reply:
    from core.crates.manage import remove

    entry = await asyncio.to_thread(remove, layer.settings, crate_of(ctx), args.track)
    return Reply(text=f"removed {entry.number}. {entry.label} from the crate")


async def crate_stats(layer: CommandLayer, ctx: CommandContext, args: NoArgs) -> Reply:
    from core.crates.manage import stats

    s = await asyncio.to_thread(stats, layer.settings, crate_of(ctx))
    limits = s["limits"]
    lines = [
        f"{s['tracks']} of {limits['tracks']} tracks · {s['hours']:.2f} of {limits['hours']:g} h · "
        f"{s['size_mb']:.0f} of {limits['size_mb']:g} MB",
    ]
    if s["bpm_min"] is not None:
        lines.append(f"BPM {s['bpm_min']:.1f}–{s['bpm_max']:.1f} (median {s['bpm_median']:.1f})")
    if s["keys"]:
        lines.append("keys: " + ", ".join(f"{k} ×{n}" for k, n in s["keys"].items()))
    return Reply(text="\n".join(lines), title="Crate stats", data=s)


async def next_tracks(layer: CommandLayer, ctx: CommandContext, args: NextArgs) -> Reply:
    from core.crates.manage import next_tracks as ranked

    window = args.window if args.window is not None else 8.0
    current, found = await asyncio.to_thread(
        ranked, layer.settings, crate_of(ctx), args.track, window, 5
    )
    head = f"after {current.number}. {current.label}"
    if current.bpm:
        head += f" ({current.bpm:.1f} BPM {current.key or '?'} {current.camelot or ''})".rstrip()
    if not found:
        return Reply(
            text=f"{head}: nothing in the crate fits within ±{window:g} % and a compatible key",
            title="Next tracks",
        )
    lines = [head + ":"] + [s.describe() for s in found]
    data = [
        {
            "number": s.candidate.number,
            "label": s.candidate.label,
            "score": round(s.score, 3),
            "tempo_change_pct": round(s.tempo_change_pct, 2),
            "keylock": s.keylock,
            "pitch_semitones": round(s.pitch_semitones, 2),
            "relation": s.relation,
        }
        for s in found
    ]
    return Reply(text="\n".join(lines), title="Next tracks", data={"next": data})
