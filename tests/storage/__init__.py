"""Settings and storage: migrations, repositories, both database backends."""
