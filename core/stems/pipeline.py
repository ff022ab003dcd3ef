"""Source in, stem files + manifest + zip out, in memory that does not grow with the input.

1. fetch/validate the source, hash it, load the model;
2. analysis pass over the decoded stream: length, mean and deviation (demucs
   normalises by the whole track's statistics), and the optional HPSS split;
3. separation pass: decode again and run :func:`separate_stream`, writing each
   stem and mix to a float32 scratch file while its loudness is measured;
4. fix each file's gain (loudness target with a peak ceiling, or one common
   anti-clip gain), encode the final files in parallel, write the manifest, zip.

Decoding twice costs a second or two per hour of audio with ffmpeg, far less
than keeping the track in memory or separating it twice.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.audio.decode import decode_blocks
from core.audio.fetch import is_url, resolve_source
from core.errors import BadInput, NotAvailable
from core.settings import Settings
from core.stems.hpss import StreamingHPSS
from core.stems.loudness import LoudnessReport, headroom_gain, normalisation_gain
from core.stems.manifest import (
    MANIFEST_NAME,
    limits_summary,
    size_flags,
    software_versions,
)
from core.stems.mixes import OutputSpec, plan_outputs
from core.stems.models import LoadedModel, load_model
from core.stems.options import StemsOptions
from core.stems.package import write_zip
from core.stems.windowed import SeparationSettings, separate_stream
from core.stems.writers import EncodeSpec, ScratchTrack, encode
from storage.files import sha256_file

ProgressFn = Callable[[float, str], None]
_SEED = 0  # fixed shift offsets: the same input gives the same stems


@dataclass
class StemsResult:
    zip_path: Path
    files: list[Path]
    manifest_path: Path
    manifest: dict[str, Any]


def pick_device(requested: str | None) -> tuple[Any, int]:
    """CUDA when present (or asked for), else the CPU with every core this process may use."""
    import torch

    if requested:
        if not re.fullmatch(r"cpu|cuda(:\d+)?", requested):
            raise BadInput(f"device {requested}: use cpu, cuda or cuda:N")
        if requested.startswith("cuda") and not torch.cuda.is_available():
            raise NotAvailable("CUDA was asked for but no CUDA device is available here")
        device = torch.device(requested)
    else:
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, threads or 1)
    if device.type == "cpu":
        torch.set_num_threads(threads)
    return device, threads


def safe_name(text: str, fallback: str = "stems") -> str:
    cleaned = re.sub(r"[^\w .()+-]+", "_", text).strip(" ._")
    return cleaned[:80] or fallback


def _scaled(progress: ProgressFn, lo: float, hi: float) -> ProgressFn:
    return lambda fraction, text="": progress(lo + (hi - lo) * max(0.0, min(1.0, fraction)), text)


@dataclass
class _Stats:
    frames: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, block: np.ndarray) -> None:
        ref = block.astype(np.float64).mean(axis=1)  # demucs: wav.mean(0), the mono reference
        self.frames += len(ref)
        self.total += float(ref.sum())
        self.squares += float(np.dot(ref, ref))

    @property
    def mean(self) -> float:
        return self.total / self.frames if self.frames else 0.0

    @property
    def std(self) -> float:
        if self.frames < 2:
            return 0.0
        var = (self.squares - self.total * self.total / self.frames) / (self.frames - 1)
        return math.sqrt(max(var, 0.0))


def _check_segment(loaded: LoadedModel, segment: float | None) -> None:
    from demucs.htdemucs import HTDemucs

    if segment is None:
        return
    for member in loaded.submodels:
        if isinstance(member, HTDemucs) and segment > float(member.segment):
            raise BadInput(
                f"segment {segment:g} s: model {loaded.name} is a transformer model "
                f"trained on {float(member.segment):g} s; use at most that"
            )


def _analyse(
    path: Path,
    rate: int,
    channels: int,
    hpss_tracks: dict[str, ScratchTrack] | None,
    progress: ProgressFn,
    expected_frames: float,
) -> _Stats:
    stats = _Stats()
    splitter = StreamingHPSS(channels, rate=rate) if hpss_tracks else None

    def store(parts: Any) -> None:
        assert hpss_tracks is not None
        for harmonic, percussive in parts:
            hpss_tracks["harmonic"].write(harmonic)
            hpss_tracks["percussive"].write(percussive)

    for block in decode_blocks(path, sample_rate=rate, channels=channels):
        stats.add(block)
        if splitter is not None:
            store(splitter.feed(block))
        progress(min(1.0, stats.frames / max(expected_frames, 1.0)), "reading the audio")
    if splitter is not None:
        store(splitter.finish())
    return stats


def _gains(
    reports: dict[str, LoudnessReport], target: float | None, ceiling_dbfs: float
) -> dict[str, tuple[float, bool]]:
    """Linear gain and whether the peak ceiling capped it, per output name."""
    if target is None:
        common = headroom_gain([r.sample_peak for r in reports.values()])
        return {name: (common, False) for name in reports}
    gains = {}
    for name, report in reports.items():
        gain = normalisation_gain(report, target, ceiling_dbfs)
        gains[name] = (10 ** (gain.gain_db / 20), gain.peak_limited)
    return gains


def _file_entry(
    spec: OutputSpec,
    path: Path,
    report: LoudnessReport,
    gain: float,
    limited: bool,
    rate: int,
    channels: int,
) -> dict[str, Any]:
    gain_db = 20 * math.log10(gain) if gain > 0 else 0.0
    lufs = report.integrated_lufs + gain_db if report.integrated_lufs is not None else None
    peak = report.sample_peak * gain
    size = path.stat().st_size
    return {
        "file": path.name,
        "kind": spec.kind,
        "sources": list(spec.sources),
        "frames": report.frames,
        "duration_s": round(report.frames / rate, 6),
        "sample_rate": rate,
        "channels": channels,
        "integrated_lufs": round(lufs, 2) if lufs is not None else None,
        "sample_peak_dbfs": round(20 * math.log10(peak), 2) if peak > 0 else None,
        "gain_db": round(gain_db, 3),
        "peak_limited": limited,
        "size_bytes": size,
        **size_flags(size),
    }


def run_stems(
    opts: StemsOptions,
    settings: Settings,
    out_dir: Path,
    scratch_dir: Path,
    progress: ProgressFn | None = None,
    *,
    model: LoadedModel | None = None,
    seed: int | None = _SEED,
) -> StemsResult:
    """Separate ``opts.source`` into files in ``out_dir``; scratch files go to ``scratch_dir``."""
    report_progress: ProgressFn = progress or (lambda fraction, text="": None)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch_dir.mkdir(parents=True, exist_ok=True)

    mark = time.perf_counter()
    report_progress(0.0, "fetching" if is_url(opts.source) else "checking the input")
    info = resolve_source(opts.source, scratch_dir, settings, _scaled(report_progress, 0.0, 0.02))
    timings["fetch_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    input_sha = sha256_file(info.path)
    timings["hash_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    report_progress(0.02, f"loading model {opts.model}")
    repo: Path | None = Path(opts.model_repo) if opts.model_repo else settings.models_dir
    if not opts.model_repo and settings.demucs_repo is None and not repo.is_dir():
        repo = None  # CRATEBOT_HOME/models is optional; a folder the user named is not
    loaded = model or load_model(opts.model, repo)
    timings["model_load_s"] = time.perf_counter() - mark
    outputs = plan_outputs(
        loaded.sources,
        loaded.name,
        stems=opts.stems,
        minus=opts.minus,
        two_stems=opts.two_stems,
        hpss=opts.hpss,
    )
    _check_segment(loaded, opts.segment)
    device, threads = pick_device(opts.device)
    rate, channels = loaded.samplerate, loaded.audio_channels
    expected = info.duration_s * rate

    tracks: dict[str, ScratchTrack] = {}
    try:
        for spec in outputs:
            tracks[spec.name] = ScratchTrack(scratch_dir / f"{spec.name}.f32", rate, channels)
        hpss_tracks = {s.name: tracks[s.name] for s in outputs if s.kind == "hpss"} or None

        mark = time.perf_counter()
        analysis_end = 0.15 if opts.hpss else 0.04
        stats = _analyse(
            info.path,
            rate,
            channels,
            hpss_tracks,
            _scaled(report_progress, 0.03, analysis_end),
            expected,
        )
        if stats.frames == 0:
            raise BadInput(f"{info.path.name}: contains no decodable audio")
        timings["analysis_s"] = time.perf_counter() - mark

        mark = time.perf_counter()
        stem_outputs = [s for s in outputs if s.kind != "hpss"]
        index = {name: i for i, name in enumerate(loaded.sources)}
        sep_progress = _scaled(report_progress, analysis_end, 0.95)

        def on_chunk(done: int, total: int) -> None:
            sep_progress(done / total, f"separating: {100 * done / total:.0f}% of the audio")

        separation = SeparationSettings(
            shifts=opts.shifts, overlap=opts.overlap, segment=opts.segment, seed=seed
        )
        blocks = decode_blocks(info.path, sample_rate=rate, channels=channels)
        for block in separate_stream(
            loaded.model,
            blocks,
            stats.frames,
            mean=stats.mean,
            std=stats.std + 1e-8,
            settings=separation,
            device=device,
            progress=on_chunk,
        ):
            for spec in stem_outputs:
                tracks[spec.name].write(spec.render(block, index))
        timings["separation_s"] = time.perf_counter() - mark

        mark = time.perf_counter()
        reports = {name: track.close() for name, track in tracks.items()}
        gains = _gains(reports, opts.normalize, opts.peak_ceiling_dbfs)
        title = safe_name(info.path.stem) if not is_url(opts.source) else None
        encode_spec = {
            s.name: EncodeSpec(
                opts.format, opts.bitrate, f"{title} ({s.name})" if title else s.name
            )
            for s in outputs
        }
        paths = {s.name: out_dir / f"{s.name}.{opts.format}" for s in outputs}
        report_progress(0.95, f"encoding {len(outputs)} files as {opts.format}")
        with ThreadPoolExecutor(max_workers=min(threads, len(outputs))) as pool:
            futures = [
                pool.submit(
                    encode, tracks[s.name], gains[s.name][0], paths[s.name], encode_spec[s.name]
                )
                for s in outputs
            ]
            for done, future in enumerate(futures, 1):
                future.result()
                report_progress(0.95 + 0.04 * done / len(futures), "encoding")
        timings["encode_s"] = time.perf_counter() - mark
    finally:
        for track in tracks.values():
            track.close()
            track.path.unlink(missing_ok=True)

    files = [
        _file_entry(s, paths[s.name], reports[s.name], *gains[s.name], rate, channels)
        for s in outputs
    ]
    timings["total_s"] = time.perf_counter() - t_start
    manifest: dict[str, Any] = {
        "manifest_version": 1,
        "kind": "stems",
        "input": {
            "source": opts.source if is_url(opts.source) else info.path.name,
            "file": info.path.name,
            "sha256": input_sha,
            "size_bytes": info.size_bytes,
            "codec": info.codec,
            "sample_rate": info.sample_rate,
            "channels": info.channels,
            "duration_s": round(stats.frames / rate, 6),
            "probed_duration_s": round(info.duration_s, 3),
        },
        "model": loaded.describe(),
        "parameters": {
            "stems": [s.name for s in outputs if s.kind == "stem"],
            "minus": opts.minus,
            "two_stems": opts.two_stems,
            "format": opts.format,
            "bitrate_kbps": opts.bitrate if opts.format == "mp3" else None,
            "normalize_lufs": opts.normalize,
            "peak_ceiling_dbfs": opts.peak_ceiling_dbfs if opts.normalize is not None else None,
            "hpss": opts.hpss,
            "shifts": opts.shifts,
            "overlap": opts.overlap,
            "segment_s": opts.segment,
            "shift_seed": seed,
            "windowed": True,
            "input_mean": stats.mean,
            "input_std": stats.std,
        },
        "device": {"type": device.type, "threads": threads},
        "files": files,
        **limits_summary(files),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "software": software_versions(opts.hpss),
    }
    manifest_path = out_dir / MANIFEST_NAME
    manifest_path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    zip_name = "stems.zip" if is_url(opts.source) else f"{safe_name(info.path.stem)}-stems.zip"
    zip_path = write_zip(out_dir / zip_name, [paths[s.name] for s in outputs], manifest_path)
    shutil.rmtree(scratch_dir / "download", ignore_errors=True)
    report_progress(1.0, "done")
    return StemsResult(zip_path, [paths[s.name] for s in outputs], manifest_path, manifest)
