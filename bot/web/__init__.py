"""``cratebot serve``: front-ends, job runner and the small HTTP server in one process."""
