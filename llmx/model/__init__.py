"""Talking to a model: the HTTP server and its retry policy, rate control, per-family
parameters, strict-schema rules, the live-request switch, the local llama.cpp server."""
