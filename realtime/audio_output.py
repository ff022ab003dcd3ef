"""The live sound-card path. sounddevice is imported here, lazily, so the package
(and ``--offline-render``) works on machines without PortAudio."""

from __future__ import annotations

from typing import Any

from realtime.engine import Engine


class AudioOutputError(RuntimeError):
    pass


def open_stream(engine: Engine, device: str | None) -> Any:
    """Start an ``OutputStream`` driving ``engine.sd_callback``; returns the stream."""
    try:
        import sounddevice as sd
    except OSError as exc:  # sounddevice raises OSError when libportaudio is missing
        raise AudioOutputError(
            f"{exc}: install PortAudio (Debian/Raspberry Pi OS: apt install libportaudio2) "
            "or run with --offline-render OUT.wav"
        ) from exc
    dev: int | str | None = int(device) if device is not None and device.isdigit() else device
    try:
        stream = sd.OutputStream(
            samplerate=engine.sample_rate,
            blocksize=engine.block_size,
            channels=2,
            dtype="float32",
            device=dev,
            latency="low",
            callback=engine.sd_callback,
        )
        stream.start()
    except (sd.PortAudioError, ValueError) as exc:
        raise AudioOutputError(f"cannot open audio device {device or '(default)'}: {exc}") from exc
    return stream
