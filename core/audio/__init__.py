"""Audio input: locate ffmpeg, validate and probe files, stream-decode PCM, fetch URLs."""

from core.audio.decode import decode_array, decode_blocks
from core.audio.ffmpeg import ffmpeg_exe
from core.audio.probe import AudioInfo, probe_audio

__all__ = ["AudioInfo", "decode_array", "decode_blocks", "ffmpeg_exe", "probe_audio"]
