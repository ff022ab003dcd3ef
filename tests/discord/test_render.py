"""Replies as Discord message parts: attachments within the limit, links beyond it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands.api import Link, Reply, ResultFile, TrackRow
from bot.discord.render import CONTENT_LIMIT, chunks, render_reply


def result(tmp_path: Path, name: str, size: int) -> ResultFile:
    path = tmp_path / name
    path.write_bytes(b"x" * size)
    return ResultFile("job1", name, path, size, url=f"http://dl/{name}")


def test_files_within_the_limit_are_attached_the_rest_linked(tmp_path: Path) -> None:
    small = result(tmp_path, "small.zip", 100)
    big = result(tmp_path, "big.zip", 5000)
    reply = Reply(
        text="2 files",
        title="Stems (2 files)",
        files=(small, big),
        links=(Link("vocals.mp3", "http://dl/vocals.mp3"),),
    )
    out = render_reply(reply, 1000, lambda f: f.url or "")
    assert [f.name for f in out.files] == ["small.zip"]
    assert (
        "big.zip (0.0 MB, larger than this server's 0.0 MB upload limit): <http://dl/big.zip>"
        in out.content
    )
    assert "vocals.mp3: <http://dl/vocals.mp3>" in out.content
    assert out.content.startswith("**Stems (2 files)**")
    assert not out.embeds


def test_tracklist_is_an_embed_with_the_timeline(tmp_path: Path) -> None:
    png = result(tmp_path, "timeline.png", 50)
    cue = result(tmp_path, "tracklist.cue", 20)
    tracks = (TrackRow(0, 60, "DJ_Snake", "*Turn*"), TrackRow(60, 120, None, None))
    reply = Reply(
        text="0:00  DJ_Snake - *Turn*\n1:00  unknown",
        title="Tracklist (1 of 2 identified)",
        job_id="job1",
        tracks=tracks,
        files=(cue,),
        images=(png,),
    )
    out = render_reply(reply, 10 * 2**20, lambda f: f.url or "")
    embed = out.embeds[0].to_dict()
    assert embed["title"] == "Tracklist (1 of 2 identified)"
    assert embed["image"]["url"] == "attachment://timeline.png"
    assert "DJ\\_Snake - \\*Turn\\*" in embed["description"]  # markdown escaped
    assert embed["footer"]["text"] == "job job1"
    assert [f.name for f in out.files] == ["timeline.png", "tracklist.cue"]


def test_timeline_too_big_is_linked_and_not_embedded(tmp_path: Path) -> None:
    png = result(tmp_path, "timeline.png", 5000)
    reply = Reply(text="x", title="Tracklist", tracks=(TrackRow(0, 1, "A", "B"),), images=(png,))
    out = render_reply(reply, 1000, lambda f: f.url or "")
    assert "image" not in out.embeds[0].to_dict() and not out.files
    assert "<http://dl/timeline.png>" in out.content


def test_long_text_is_split_and_errors_are_marked() -> None:
    reply = Reply(text="\n".join(f"row {i}" for i in range(800)), error=True)
    out = render_reply(reply, 1000, lambda f: "")
    assert out.content.startswith("⚠️ row 0")
    assert all(len(part) <= CONTENT_LIMIT for part in [out.content, *out.more])
    assert out.more and out.more[-1].endswith("row 799")


@pytest.mark.parametrize("limit", [10, 100])
def test_chunks(limit: int) -> None:
    text = "a" * 250 + "\nbb\ncc"
    parts = chunks(text, limit)
    assert all(len(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
