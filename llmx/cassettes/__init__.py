"""The cassette store (keys, canonical requests) and the gateways that answer requests."""
