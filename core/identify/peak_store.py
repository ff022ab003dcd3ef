"""Each indexed track's spectral peaks, kept beside the hash index.

The hash index finds a track from *triplets* of peaks, and a triplet survives
the club only if all three of its peaks do: measured on club mixes (reverb,
crowd noise, filter sweeps, Opus), 10-35 % of a track's peaks are still in the
mix where they belong, so only 0.1-4 % of its triplets are. A weak play (a
27-second track under a double drop) then leaves a handful of triplet matches,
too few to tell from chance, while hundreds of its single peaks are still
there. ``core.identify.verify`` counts those along a weak candidate's line;
this store gives it the reference peaks.

Layout under the index folder: ``peaks/<track id>.npy``, a record per peak
(frames since the previous peak uint16, log bin in 1/64 uint16): 4 bytes a
peak, ~23 peaks a second, about 0.33 MB per hour of reference audio (a track
with a gap of over 17 minutes between two peaks keeps whole frame numbers). One file per track, so adding
tracks writes only theirs and a removed track's file goes with the next
compaction. Tracks indexed before this store existed have no file; they are
matched on triplets alone until ``cratebot index`` meets their files again
(``library.index_paths`` then adds the peaks).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from core.identify import fingerprint as fp

PEAK_DTYPE = np.dtype([("dt", "<u2"), ("f", "<u2")])
WIDE_DTYPE = np.dtype([("t", "<i4"), ("f", "<u2")])
F_SCALE = 64.0


class PeakStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, track_id: int) -> Path:
        return self.folder / f"{int(track_id)}.npy"

    def write(self, track_id: int, peaks: fp.Peaks) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        gaps = np.diff(peaks.t, prepend=0)
        if len(gaps) and (gaps.min() < 0 or gaps.max() > np.iinfo(np.uint16).max):
            rec = np.empty(len(peaks), WIDE_DTYPE)
            rec["t"] = np.minimum(peaks.t, np.iinfo(np.int32).max)
        else:
            rec = np.empty(len(peaks), PEAK_DTYPE)
            rec["dt"] = gaps
        rec["f"] = np.clip(np.round(peaks.f * F_SCALE), 0, np.iinfo(np.uint16).max)
        path = self._path(track_id)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as out:
            np.save(out, rec)
        os.replace(tmp, path)

    def has(self, track_id: int) -> bool:
        return self._path(track_id).is_file()

    def read(self, track_id: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(frames int64, log bins float32)`` of the track's peaks, None if not stored."""
        try:
            rec = np.load(self._path(track_id), allow_pickle=False)
        except (FileNotFoundError, ValueError, OSError):
            return None  # not stored, or a torn file: triplets alone decide
        if rec.dtype not in (PEAK_DTYPE, WIDE_DTYPE):
            return None  # not a peak file: no field to read
        f = (rec["f"] / np.float32(F_SCALE)).astype(np.float32)
        if rec.dtype == PEAK_DTYPE:
            return np.cumsum(rec["dt"], dtype=np.int64), f
        return rec["t"].astype(np.int64), f

    def keep_only(self, live_ids: Iterable[int]) -> None:
        """Delete the files of tracks not in ``live_ids``."""
        live = {int(i) for i in live_ids}
        if not self.folder.is_dir():
            return
        for path in self.folder.glob("*.npy"):
            with contextlib.suppress(ValueError):
                if int(path.stem) not in live:
                    path.unlink(missing_ok=True)

    def clear(self) -> None:
        self.keep_only(())
