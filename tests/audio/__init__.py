"""Audio input: probing, decoding, fetching links."""
