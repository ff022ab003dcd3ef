"""Shared fixtures: synthetic songs, a mix of them with its truth, an indexed library."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import pytest

from tests.identify.synth import write_songs


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six 50-second songs; songs 0-4 are indexed, song 5 is never in the library."""
    folder = tmp_path_factory.mktemp("synth")
    write_songs(folder / "songs", 6, seconds=50.0)
    return folder


@pytest.fixture(scope="session")
def synth_songs(synth_dir: Path) -> list[Path]:
    return sorted((synth_dir / "songs").glob("*.flac"), key=lambda p: int(p.stem.split("_")[-1]))


@pytest.fixture(scope="session")
def synth_mix(synth_dir: Path, synth_songs: list[Path]) -> tuple[Path, list[dict]]:
    """A 4-minute mix: five known songs, one played twice, one unknown song twice."""
    from benchmarks.identify_mixgen import Source, make_mix, write_mp3

    def source(p: Path) -> Source:
        artist, title = p.stem.replace("_", " ").split("--")
        return Source(p, artist, title, 50.0)

    known = [source(p) for p in synth_songs[:5]]
    mix, placed = make_mix(
        known, 4.0, seed=3, excerpt_s=(38.0, 46.0), unknown=[source(synth_songs[5])]
    )
    path = synth_dir / "mix.mp3"
    write_mp3(mix, path)
    truth = [asdict(p) for p in placed]
    (synth_dir / "truth.json").write_text(json.dumps(truth))
    return path, truth


@pytest.fixture(scope="session")
def synth_library_home(synth_dir: Path, synth_songs: list[Path]) -> Path:
    """A CrateBot home whose library holds songs 0-4 (copy it before changing it)."""
    from core.identify.library import index_paths
    from core.settings import load_settings

    home = synth_dir / "library-home"
    index_paths(load_settings(home=home), synth_songs[:5])
    return home


@pytest.fixture
def library_home(synth_library_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "libhome"
    shutil.copytree(synth_library_home, home)
    return home
