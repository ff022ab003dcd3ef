"""Track analysis: tempo, beats, downbeats, key (with Camelot code), segments, loudness."""

from core.analysis.analyze import analyze_track
from core.analysis.keys import Key, parse_key, parse_key_list
from core.analysis.model import TrackAnalysis, load_struct_dir, load_struct_file
from core.analysis.segments import Segment

__all__ = [
    "Key",
    "Segment",
    "TrackAnalysis",
    "analyze_track",
    "load_struct_dir",
    "load_struct_file",
    "parse_key",
    "parse_key_list",
]
