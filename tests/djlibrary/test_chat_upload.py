"""``/sections`` in chat with an uploaded collection file: it becomes that job's override."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands.defs import BY_NAME
from bot.commands.dj_upload import collection_upload, split_collection
from core.errors import BadInput
from core.settings import load_settings
from tests.analysis.synth import make_track
from tests.commands.conftest import collect, ctx, make_layer
from tests.djlibrary.exports import rekordbox6_demo


def test_split_collection(tmp_path: Path) -> None:
    audio, collection = split_collection([tmp_path / "a.mp3", tmp_path / "rb.XML", "b.wav"])
    assert audio == [tmp_path / "a.mp3", Path("b.wav")] and collection == tmp_path / "rb.XML"
    assert collection_upload([tmp_path / "a.mp3"]) == ([tmp_path / "a.mp3"], {})
    left, params = collection_upload([tmp_path / "collection.nml"])
    assert left == [] and params == {"dj_library": str(tmp_path / "collection.nml")}
    with pytest.raises(BadInput, match="one DJ collection"):
        split_collection(["x.xml", "y.nml"])
    # Discord shows the collection as its own attachment option.
    options = {o.name: o.type for o in BY_NAME["sections"].spec.options}
    assert options["file"] == options["collection"] == "attachment"


@pytest.mark.slow
async def test_uploaded_collection_overrides_the_job(home: Path, tmp_path: Path) -> None:
    settings = load_settings(home=home, secret="test-secret", public_url="http://dl.test")
    async for layer in make_layer(settings):
        # What a front-end does with the two uploads: saved under the layer's uploads folder
        # (where "Demo Track 2.wav" becomes "Demo_Track_2.wav").
        track = layer.upload_path(ctx(), "Demo Track 2.wav")
        make_track(track, bpm=120.0, bars=40, intro_bars=8, outro_bars=8, lead_in_s=0.025)
        collection = layer.upload_path(ctx(), "rekordbox.xml")
        collection.write_text(rekordbox6_demo(), encoding="utf-8")
        user = ctx(attachments=(track, collection))

        _, reply = await collect(layer, user, "/sections bpm=121 delta=3 bars=8")
        assert not reply.error, reply.text
        job = await layer.repo.get(reply.job_id)
        assert job.params["dj_library"] == str(collection.resolve())
        assert job.params["sources"] == [str(track.resolve())]
        (row,) = reply.data["selected"]
        assert row["dj_library"] == "rekordbox" and row["key"] == "Fm"
        assert row["duration_orig"] == 16.0  # 8 bars of the collection's 120 BPM grid
        assert "(rekordbox: bpm, key, grid)" in reply.text

        # Only a collection, no tracks: a clear refusal, nothing queued.
        _, reply = await collect(layer, ctx(attachments=(collection,)), "/sections bpm=121")
        assert reply.error and "attach an audio file" in reply.text
        # A broken collection fails the job with one line, not a traceback.
        broken = layer.upload_path(ctx(), "broken.nml")
        broken.write_text("<NML><COLLECTION>", encoding="utf-8")
        _, reply = await collect(layer, ctx(attachments=(track, broken)), "/sections bpm=121")
        assert reply.error and "not a Traktor collection NML" in reply.text
        assert "Traceback" not in reply.text
