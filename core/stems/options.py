"""The parameters of a stems job, checked once, from a JSON-safe dict."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.errors import BadInput
from core.stems.formats import DEFAULT_FORMAT, FORMATS, MP3_BITRATES
from core.stems.models import DEFAULT_MODEL


def _names(value: Any, flag: str) -> tuple[str, ...] | None:
    if value is None or value == "":
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(str(item).strip() for item in items if str(item).strip())
    if not names:
        raise BadInput(f"{flag}: name at least one stem")
    return names


def _one_name(value: Any, flag: str) -> str | None:
    if value is None or value == "":
        return None
    name = str(value).strip()
    if "," in name:
        raise BadInput(f"{flag} takes one stem name, not a list ({name})")
    return name


def _given(params: dict[str, Any], key: str, default: Any) -> Any:
    value = params.get(key)
    return default if value is None or value == "" else value


@dataclass(frozen=True)
class StemsOptions:
    source: str
    model: str = DEFAULT_MODEL
    model_repo: str | None = None
    stems: tuple[str, ...] | None = None
    minus: str | None = None
    two_stems: str | None = None
    format: str = DEFAULT_FORMAT
    bitrate: int = 320
    normalize: float | None = None
    peak_ceiling_dbfs: float = -1.0
    hpss: bool = False
    shifts: int = 1
    overlap: float = 0.25
    segment: float | None = None
    device: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> StemsOptions:
        source = str(params.get("source") or "").strip()
        if not source:
            raise BadInput("no source given: send a file or a link")
        fmt = str(params.get("format") or DEFAULT_FORMAT).lower().lstrip(".")
        if fmt not in FORMATS:
            raise BadInput(f"--format {fmt}: choose one of {', '.join(FORMATS)}")
        try:
            raw = params.get("bitrate")
            bitrate = 320 if raw is None or raw == "" else int(raw)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"--bitrate {params.get('bitrate')}: not a number") from exc
        if bitrate not in MP3_BITRATES:
            raise BadInput(
                f"--bitrate {bitrate}: MP3 bitrates are {', '.join(map(str, MP3_BITRATES))}"
            )
        normalize = params.get("normalize")
        if normalize is not None:
            try:
                normalize = float(normalize)
            except (TypeError, ValueError) as exc:
                raise BadInput(f"--normalize {normalize}: not a LUFS number") from exc
            if not math.isfinite(normalize) or not -70.0 <= normalize <= 0.0:
                raise BadInput(f"--normalize {normalize}: use a target between -70 and 0 LUFS")
        shifts = int(_given(params, "shifts", 1))
        if not 0 <= shifts <= 20:
            raise BadInput(f"shifts {shifts}: use 0 to 20")
        overlap = float(_given(params, "overlap", 0.25))
        if not 0.0 <= overlap <= 0.9:
            raise BadInput(f"overlap {overlap}: use 0 to 0.9")
        segment = params.get("segment")
        segment = None if segment in (None, "") else float(segment)
        if segment is not None and not 1.0 <= segment <= 600.0:
            raise BadInput(f"segment {segment}: use 1 to 600 seconds")
        ceiling = float(_given(params, "peak_ceiling_dbfs", -1.0))
        if not -20.0 <= ceiling <= 0.0:
            raise BadInput(f"peak ceiling {ceiling} dBFS: use -20 to 0")
        repo = params.get("model_repo")
        return cls(
            source=source,
            model=str(params.get("model") or DEFAULT_MODEL).strip(),
            model_repo=str(Path(repo).expanduser()) if repo else None,
            stems=_names(params.get("stems"), "--stems"),
            minus=_one_name(params.get("minus"), "--minus"),
            two_stems=_one_name(params.get("two_stems"), "--two-stems"),
            format=fmt,
            bitrate=bitrate,
            normalize=normalize,
            peak_ceiling_dbfs=ceiling,
            hpss=bool(params.get("hpss", False)),
            shifts=shifts,
            overlap=overlap,
            segment=segment,
            device=params.get("device") or None,
        )

    def to_params(self) -> dict[str, Any]:
        data = asdict(self)
        data["stems"] = list(self.stems) if self.stems else None
        return data
