"""Fakes for tests and benchmarks, shipped with llmx so users can test their own schemas.

- :mod:`llmx.testing.fake_model`: answers built from the schema in the request (like pydantic-ai's
  ``TestModel``), or by a function of the request (its ``FunctionModel``), in process.
- :mod:`llmx.testing.stub_server`: the same answers from an OpenAI-compatible server on 127.0.0.1,
  with injectable faults.
"""
