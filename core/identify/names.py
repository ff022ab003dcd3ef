"""The recognizer names, kept apart from the pipeline so the bot can list them cheaply."""

RECOGNIZERS = ("local", "shazam", "audd")
