"""The identify job end to end on a generated mix of synthetic songs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.identify_mixgen import score
from core.identify.job import identify_job, parse_recognizers
from core.jobs import LocalProgress, run_in_process
from core.settings import load_settings


def test_identify_job_on_mix(library_home: Path, synth_mix, tmp_path: Path) -> None:
    mix, truth = synth_mix
    settings = load_settings(home=library_home)
    seen: list[float] = []
    out = run_in_process(
        identify_job,
        {"source": str(mix), "recognizers": ["local"]},
        tmp_path / "work",
        settings,
        LocalProgress(lambda f, t: seen.append(f), min_interval_s=0),
    )
    result = out.result
    assert set(out.files) == {"tracklist.json", "tracklist.cue", "timeline.png"}
    for name in out.files:
        assert (tmp_path / "work" / name).stat().st_size > 0
    assert (
        json.loads((tmp_path / "work" / "tracklist.json").read_text())["tracks"] == result["tracks"]
    )
    assert seen[-1] == 1.0 and seen == sorted(seen)

    s = score(truth, result)
    assert s["recall"] == 1.0 and s["precision"] == 1.0, (truth, result["tracks"])
    assert s["median_start_error_s"] <= 5.0

    # a track played twice appears twice
    played_twice = {
        t["title"]
        for t in truth
        if t["known"] and sum(u["title"] == t["title"] for u in truth) == 2
    }
    assert played_twice
    for title in played_twice:
        assert sum(r["title"] == title for r in result["tracks"]) == 2
    # the unindexed song's stretches are reported as unknown
    for t in (t for t in truth if not t["known"]):
        middle = (t["start"] + t["end"]) / 2
        entry = next(r for r in result["tracks"] if r["start"] <= middle <= r["end"])
        assert entry["title"] is None and entry["artist"] is None
    # speeds are estimated (vinyl and keylock alike)
    for t in truth:
        if t["known"]:
            entry = min(
                (r for r in result["tracks"] if r["title"] == t["title"]),
                key=lambda r: abs(r["start"] - t["start"]),
            )
            assert entry["speed"] == pytest.approx(t["speed"], abs=0.01)
    # entries are in mix order and do not overlap
    starts = [r["start"] for r in result["tracks"]]
    assert starts == sorted(starts)
    assert all(
        a["end"] <= b["start"] + 1e-6
        for a, b in zip(result["tracks"], result["tracks"][1:], strict=False)
    )


def test_empty_library_is_a_note_not_an_error(settings, synth_mix, tmp_path: Path) -> None:
    mix, _ = synth_mix
    out = run_in_process(
        identify_job, {"source": str(mix), "recognizers": "local"}, tmp_path, settings
    )
    assert out.result["tracks"][0]["title"] is None
    assert any("library is empty" in n for n in out.result["notes"])


def test_bad_params(settings) -> None:
    from core.errors import BadInput

    with pytest.raises(BadInput, match="unknown recognizer 'spotify'"):
        parse_recognizers("local,spotify", settings)
    assert parse_recognizers(None, settings) == ["local", "shazam"]
    with pytest.raises(BadInput, match="no such file"):
        run_in_process(
            identify_job,
            {"source": "/nonexistent/mix.mp3", "recognizers": ["local"]},
            Path(settings.work_dir) / "x",
            settings,
        )
