"""Tracklist outputs: chat text, CUE sheet and a timeline PNG."""

from __future__ import annotations

import colorsys
import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

UNKNOWN = "unknown"


def clock(seconds: float) -> str:
    """``MM:SS`` (minutes keep counting past 59, as tracklists write them)."""
    total = int(round(max(seconds, 0.0)))
    return f"{total // 60:02d}:{total % 60:02d}"


def entry_name(entry: dict[str, Any]) -> str:
    if entry.get("title") is None and entry.get("artist") is None:
        return UNKNOWN
    return f"{entry.get('artist') or '?'} — {entry.get('title') or '?'}"


def format_text(result: dict[str, Any]) -> str:
    """One ``MM:SS Artist — Title`` line per entry, speed noted when it is not 1."""
    lines = []
    for entry in result["tracks"]:
        line = f"{clock(entry['start'])} {entry_name(entry)}"
        speed = entry.get("speed")
        if speed is not None and abs(speed - 1.0) >= 0.005:
            line += f"  [{(speed - 1) * 100:+.1f}%]"
        lines.append(line)
    if not lines:
        lines.append("no tracks identified")
    return "\n".join(lines)


def _cue_text(value: str) -> str:
    return value.replace('"', "'").replace("\n", " ")


def write_cue(result: dict[str, Any], path: Path, audio_name: str) -> None:
    """A CUE sheet with one TRACK per entry (INDEX in MM:SS:FF, 75 frames per second)."""
    kind = "MP3" if audio_name.lower().endswith(".mp3") else "WAVE"
    out = [
        'REM COMMENT "CrateBot tracklist"',
        f'TITLE "{_cue_text(Path(audio_name).stem)}"',
        f'FILE "{_cue_text(audio_name)}" {kind}',
    ]
    for n, entry in enumerate(result["tracks"], start=1):
        frames = int(round(entry["start"] * 75))
        minutes, rest = divmod(frames, 75 * 60)
        seconds, ff = divmod(rest, 75)
        out.append(f"  TRACK {n:02d} AUDIO")
        out.append(f'    TITLE "{_cue_text(entry.get("title") or UNKNOWN)}"')
        out.append(f'    PERFORMER "{_cue_text(entry.get("artist") or UNKNOWN)}"')
        out.append(f"    INDEX 01 {minutes:02d}:{seconds:02d}:{ff:02d}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def _font(size: int) -> Any:
    from PIL import ImageFont

    # DejaVu (shipped with matplotlib, found without importing it) covers far more
    # scripts than Pillow's built-in font.
    spec = importlib.util.find_spec("matplotlib")
    if spec and spec.origin:
        ttf = Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        if ttf.is_file():
            return ImageFont.truetype(str(ttf), size)
    return ImageFont.load_default(size)


def _colour(i: int) -> tuple[int, int, int]:
    r, g, b = colorsys.hls_to_rgb((i * 0.618034) % 1.0, 0.55, 0.6)
    return int(r * 255), int(g * 255), int(b * 255)


def fit_text(text: str, suffix: str, measure: Callable[[str], float], width: float) -> str:
    """``text + suffix`` cut with an ellipsis so it fits ``width``; the suffix is always kept."""
    if measure(text + suffix) <= width:
        return text + suffix
    while len(text) > 4 and measure(text + "…" + suffix) > width:
        text = text[:-1]
    return text.rstrip() + "…" + suffix


def render_png(result: dict[str, Any], path: Path, width: int = 1000) -> None:
    """A timeline: one row per entry, a coloured span on the mix's time axis, names on the left.

    Drawn with Pillow rather than matplotlib: a few rectangles and labels do not
    need a plotting stack, and the picture stays a small palette PNG for chat.
    """
    from PIL import Image, ImageDraw

    tracks = result["tracks"]
    duration = max(float(result.get("duration_s") or 0.0), 1.0)
    row, top, label_w, pad = 22, 34, 360, 10
    height = top + row * max(len(tracks), 1) + pad
    img = Image.new("RGB", (width, height), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    font, small = _font(13), _font(11)
    x0, x1 = label_w, width - pad
    draw.text(
        (pad, 8),
        f"{len([t for t in tracks if t.get('title')])} tracks · {clock(duration)}",
        fill=(30, 30, 30),
        font=font,
    )
    # time axis: about six to twelve ticks whatever the length of the mix
    step = next((s for s in (30, 60, 120, 300, 600, 900, 1800, 3600) if duration / s <= 12), 7200)
    for t in range(0, int(duration) + 1, step):
        x = x0 + (x1 - x0) * t / duration
        draw.line([(x, top - 6), (x, height - pad)], fill=(215, 215, 215))
        draw.text((x + 2, top - 20), clock(t), fill=(120, 120, 120), font=small)
    for i, entry in enumerate(tracks):
        y = top + i * row
        name = f"{clock(entry['start'])} {entry_name(entry)}"
        speed = entry.get("speed")
        tag = f"  {(speed - 1) * 100:+.1f}%" if speed and abs(speed - 1.0) >= 0.005 else ""
        name = fit_text(name, tag, lambda text: draw.textlength(text, font=font), label_w - 2 * pad)
        known = entry.get("title") is not None or entry.get("artist") is not None
        draw.text((pad, y + 3), name, fill=(30, 30, 30) if known else (140, 140, 140), font=font)
        xs = x0 + (x1 - x0) * entry["start"] / duration
        xe = max(x0 + (x1 - x0) * entry["end"] / duration, xs + 2)
        colour = _colour(i) if known else (200, 200, 200)
        draw.rectangle([xs, y + 4, xe, y + row - 4], fill=colour)
    img.quantize(colors=64).save(path, optimize=True)
