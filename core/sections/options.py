"""The parameters of a sections job, checked once, from a JSON-safe dict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import BadInput

DEFAULT_BARS = 16
DEFAULT_DELTA = 2.0


def _number(params: dict[str, Any], name: str, default: float | None = None) -> float | None:
    value = params.get(name, default)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name} must be a number, not {value!r}") from exc


@dataclass(frozen=True)
class SectionsOptions:
    """What to select (tempo, keys), where from (sources, library, all-in-one JSONs) and
    how to cut (target tempo, bars, mix-in/out room)."""

    bpm: float
    delta: float = DEFAULT_DELTA
    keys: str | None = None
    harmonic: bool = False
    target_bpm: float = 0.0  # from_params fills in ``bpm`` when not given
    bars: int = DEFAULT_BARS
    mix_bars: int | None = None
    sources: tuple[str, ...] = ()
    library: bool = False
    struct_dir: Path | None = None
    audio_dir: Path | None = None
    dj_library: str | None = None  # .xml, .nml, Serato "database V2" or "serato"
    rekordbox_xml: str | None = None  # the older name of a Rekordbox dj_library

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> SectionsOptions:
        bpm = _number(params, "bpm")
        if bpm is None:
            raise BadInput("a sections request needs --bpm (the tempo to select around)")
        delta = _number(params, "delta", DEFAULT_DELTA) or 0.0
        try:
            bars = int(params.get("bars") or DEFAULT_BARS)
            mix_bars = None if params.get("mix_bars") is None else int(params["mix_bars"])
        except (TypeError, ValueError) as exc:
            raise BadInput(f"bars must be whole numbers ({exc})") from exc
        if bars < 1:
            raise BadInput(f"--bars must be at least 1, not {bars}")
        sources = params.get("sources") or ([params["source"]] if params.get("source") else [])
        if isinstance(sources, str):
            sources = [sources]
        library = bool(params.get("library"))
        struct_dir = params.get("struct_dir")
        if not (sources or library or struct_dir):
            raise BadInput("give tracks (paths or links), --library or --struct-dir")
        audio_dir = params.get("audio_dir")
        dj_library, rekordbox_xml = params.get("dj_library"), params.get("rekordbox_xml")
        if dj_library and rekordbox_xml:
            raise BadInput("give either --dj-library or --rekordbox-xml, not both")
        return cls(
            bpm=bpm,
            delta=delta,
            keys=params.get("key") or params.get("keys"),
            harmonic=bool(params.get("harmonic")),
            target_bpm=_number(params, "target_bpm") or bpm,
            bars=bars,
            mix_bars=mix_bars,
            sources=tuple(str(s) for s in sources),
            library=library,
            struct_dir=Path(struct_dir) if struct_dir else None,
            audio_dir=Path(audio_dir).expanduser() if audio_dir else None,
            dj_library=str(dj_library) if dj_library else None,
            rekordbox_xml=str(rekordbox_xml) if rekordbox_xml else None,
        )
