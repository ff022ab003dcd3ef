"""Offline demo material: synthetic tracks of known tempo and key, and a DJ mix of them."""
