"""Storage: database models, repositories and result files."""
