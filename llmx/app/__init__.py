"""The use cases the CLI, bench/ and the Python API call."""
