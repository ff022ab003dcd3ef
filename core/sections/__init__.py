"""Tempo-aligned section export: select tracks, cut bars after the intro, stretch to a BPM."""
