"""Audio input: probing, validation, constant-memory decoding."""

from __future__ import annotations

import numpy as np
import pytest

from core.audio import decode_array, decode_blocks, probe_audio
from core.errors import BadInput
from tests.audio.audio_files import encode, tone


def test_probe_reports_duration_rate_channels(tmp_path):
    wav = tone(tmp_path / "t.wav", seconds=3.0, sr=48000)
    mp3 = encode(wav, tmp_path / "t.mp3", "-b:a", "128k")
    info = probe_audio(mp3)
    assert abs(info.duration_s - 3.0) < 0.1
    assert info.sample_rate == 48000 and info.channels == 2 and info.codec == "mp3"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"hello, this is a text file, not music\n" * 50, "not an audio file"),
        (b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 40, "not an audio file"),
    ],
)
def test_probe_refuses_non_audio(tmp_path, content, message):
    bad = tmp_path / "upload.mp3"
    bad.write_bytes(content)
    with pytest.raises(BadInput, match=message):
        probe_audio(bad)


@pytest.mark.parametrize("damage", ["truncated", "scrambled"])
def test_probe_refuses_corrupt_file(tmp_path, damage):
    ogg = encode(tone(tmp_path / "t.wav", seconds=2.0), tmp_path / "t.ogg")
    data = bytearray(ogg.read_bytes())
    if damage == "truncated":
        data = data[:300]
    else:
        rng = np.random.default_rng(1)
        data[::7] = rng.integers(0, 256, len(data[::7]), dtype=np.uint8).tobytes()
    ogg.write_bytes(bytes(data))
    with pytest.raises(BadInput, match="t.ogg: not an audio file, or a corrupt one"):
        probe_audio(ogg)


def test_probe_refuses_missing_and_video_without_audio(tmp_path):
    with pytest.raises(BadInput, match="no such file"):
        probe_audio(tmp_path / "nope.mp3")
    png = tmp_path / "image.png"
    from PIL import Image

    Image.new("RGB", (8, 8)).save(png)
    with pytest.raises(BadInput, match="audio"):
        probe_audio(png)


def test_probe_enforces_duration_and_size_limits(tmp_path):
    wav = tone(tmp_path / "t.wav", seconds=4.0)
    with pytest.raises(BadInput, match="over the limit of 0:03"):
        probe_audio(wav, max_duration_s=3)
    with pytest.raises(BadInput, match="MB limit"):
        probe_audio(wav, max_bytes=1000)


def test_decode_blocks_fixed_size_resampled_and_downmixed(tmp_path):
    wav = tone(tmp_path / "t.wav", seconds=2.5, sr=44100, freq=1000)
    blocks = list(decode_blocks(wav, sample_rate=22050, channels=1, block_frames=8192))
    assert all(b.shape == (8192, 1) for b in blocks[:-1])
    assert 0 < blocks[-1].shape[0] <= 8192
    total = sum(len(b) for b in blocks)
    assert abs(total - 2.5 * 22050) < 100
    signal = np.concatenate(blocks)[:, 0]
    spectrum = np.abs(np.fft.rfft(signal))
    peak_hz = np.argmax(spectrum) * 22050 / len(signal)
    assert abs(peak_hz - 1000) < 5


def test_decode_array_window(tmp_path):
    wav = tone(tmp_path / "t.wav", seconds=5.0)
    part = decode_array(wav, sample_rate=8000, channels=2, start_s=1.0, duration_s=2.0)
    assert part.shape == (16000, 2)
    assert part.dtype == np.float32


def test_decode_stops_ffmpeg_when_consumer_stops(tmp_path):
    wav = tone(tmp_path / "t.wav", seconds=30.0)
    gen = decode_blocks(wav, block_frames=1024)
    next(gen)
    gen.close()  # must not hang or leak the ffmpeg process


def test_decode_non_audio_raises(tmp_path):
    bad = tmp_path / "x.ogg"
    bad.write_text("not audio at all")
    with pytest.raises(BadInput, match="cannot decode"):
        list(decode_blocks(bad))
