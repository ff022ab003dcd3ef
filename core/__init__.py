"""CrateBot core: audio I/O, the job runner and the pipelines. Knows nothing of chat."""
