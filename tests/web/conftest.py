"""Fixtures of the HTTP API tests: one ``cratebot serve`` per module, with a fingerprint
library (identify) and tiny Demucs models (stems)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.identify.conftest import (  # noqa: F401  (fixtures)
    synth_dir,
    synth_library_home,
    synth_mix,
    synth_songs,
)
from tests.stems.conftest import model_repo  # noqa: F401  (fixture)
from tests.web.api_server import Served, start_serve

UPLOAD_CAP_MB = 6  # the synthetic mix is about 4 MB


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
    synth_library_home: Path,  # noqa: F811
    model_repo: Path,  # noqa: F811
) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("api") / "home"
    shutil.copytree(synth_library_home, home)
    server = start_serve(
        home,
        CRATEBOT_IDENTIFY_RECOGNIZERS="local",
        CRATEBOT_DEMUCS_REPO=str(model_repo),
        CRATEBOT_MAX_DOWNLOAD_MB=str(UPLOAD_CAP_MB),
        CRATEBOT_MAX_QUEUED_JOBS_PER_OWNER="3",
    )
    yield server
    server.stop()
    assert server.proc.returncode == 0, "".join(server.log[-30:])
    # Our code logs no error; aiohttp itself logs the refused oversized header line.
    errors = [
        line
        for line in server.log
        if " ERROR " in line and "aiohttp.server: Error handling request" not in line
    ]
    assert not errors, "".join(server.log)
