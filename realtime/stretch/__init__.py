"""Tempo methods: each turns a track region into output at a (ramping) rate.

All stretchers share one interface (:class:`realtime.stretch.base.Stretcher`) and
preallocate their buffers for the largest block at construction.
"""

from __future__ import annotations

from realtime.stretch.base import Stretcher
from realtime.stretch.playback_rate import PlaybackRateStretcher
from realtime.stretch.rubberband import RubberBandStretcher, rubberband_status
from realtime.stretch.wsola import WsolaStretcher

METHODS = ("playback_rate", "wsola", "rubberband")

__all__ = [
    "METHODS",
    "PlaybackRateStretcher",
    "RubberBandStretcher",
    "Stretcher",
    "WsolaStretcher",
    "rubberband_status",
]
