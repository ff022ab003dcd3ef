"""Identify the tracks in a DJ mix: a speed-invariant local fingerprint library plus online recognizers."""
