"""The sections CSV (Crowdstream's columns, plus ``camelot``) and the zip of parts."""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CSV_COLUMNS = (
    "path",
    "bpm",
    "key",
    "camelot",
    "target_bpm",
    "speed",
    "ini_cue",
    "begin_cue",
    "end_cue",
    "begin_cue_adj",
    "end_cue_adj",
    "duration_orig",
    "duration_sectioned",
    "part_file_orig",
    "part_file",
)


@dataclass(frozen=True)
class SectionRow:
    path: str
    bpm: float
    key: str | None
    camelot: str | None
    target_bpm: float
    speed: float
    ini_cue: float
    begin_cue: float
    end_cue: float
    begin_cue_adj: float
    end_cue_adj: float
    duration_orig: float
    duration_sectioned: float
    part_file_orig: str
    part_file: str

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CSV_COLUMNS}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # full precision: the CSV is for checking the maths
    return str(value)


def write_csv(rows: Iterable[SectionRow], target: Path, base: Path | None = None) -> Path:
    """Write the CSV; part paths are made relative to ``base`` when given, else absolute."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            values = row.as_dict()
            for column in ("part_file_orig", "part_file"):
                part = Path(values[column])
                values[column] = (
                    part.relative_to(base).as_posix() if base is not None else str(part.resolve())
                )
            writer.writerow([_cell(values[c]) for c in CSV_COLUMNS])
    return target


def read_csv(source: Path) -> list[dict[str, str]]:
    with source.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_zip(target: Path, base: Path, files: Iterable[Path]) -> Path:
    """Zip ``files`` under their paths relative to ``base``; WAVs are stored, not deflated."""
    with zipfile.ZipFile(target, "w") as archive:
        for file in files:
            compress = zipfile.ZIP_STORED if file.suffix == ".wav" else zipfile.ZIP_DEFLATED
            archive.write(file, file.relative_to(base).as_posix(), compress_type=compress)
    return target
