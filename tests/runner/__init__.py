"""The job runner: states, workers, crashes, cancel, dedupe, quotas, on both databases."""
