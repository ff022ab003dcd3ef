"""Stems and backing tracks with Demucs 4.1, in memory that does not grow with the input.

Modules: ``models`` (load a model by name: local repo, caches, then network),
``windowed`` (demucs' overlap-add separation as a stream), ``mixes`` (which
files a request makes), ``hpss`` (windowed harmonic/percussive split),
``loudness`` (streaming BS.1770 meter, gains), ``writers`` (scratch files,
FLAC/MP3/WAV encoders), ``manifest``, ``package`` (zip), ``pipeline`` (the
whole run) and ``job`` (job kind ``stems``).
"""
