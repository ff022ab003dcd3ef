"""Output formats, kept apart from the writers so the CLI can list them without numpy/scipy."""

FORMATS = ("flac", "mp3", "wav")
MP3_BITRATES = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
DEFAULT_FORMAT = "mp3"
