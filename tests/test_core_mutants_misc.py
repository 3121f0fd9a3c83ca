"""Small pure helpers at their edges, written for the survivors of mutation testing over core/
(issue 32, bench/MUTANTS.md): which secrets a process holds, and numbers too large to show."""

from __future__ import annotations

import math
from urllib.parse import quote

from llmx.core.counts import NUMBER_BOUND, out_of_range, shown_number
from llmx.core.redact import REDACTED, Redactor

KEY = "sk-test-0123456789abcdef"
AZURE = "azure0123456789KEY"


def test_a_process_s_secrets_are_its_keys_and_what_its_base_urls_carry() -> None:
    environ = {"OPENAI_API_KEY": KEY, "AZURE_OPENAI_API_KEY": AZURE, "OPENAI_BASE_URL": "https://u:pw-env@h.example/v1"}
    argv = ["extract", "--base-url", "https://h.example/v1?token=tok-arg1", "--base-url=https://h.example/v1?k=tok-eq2"]
    redactor = Redactor.from_environment(environ, argv)
    assert set(redactor.secrets) == {KEY, AZURE, "pw-env", "tok-arg1", "tok-eq2"}  # "u" is too short to replace
    said = f"{KEY} {AZURE} pw-env tok-arg1 tok-eq2 {quote(KEY, safe='')}"
    assert redactor.text(said) == " ".join([REDACTED] * 6)
    assert (
        Redactor.from_environment({}).secrets == [] and Redactor.from_environment({}, ["--base-url", "x"]).secrets == []
    )
    assert redactor(None) is None and redactor.text("nothing secret") == "nothing secret"
    assert redactor.secrets == sorted(redactor.secrets, key=len, reverse=True)  # longest first: no partial replace


def test_numbers_beyond_the_bound_are_found_and_shown_readably() -> None:
    assert out_of_range(NUMBER_BOUND) is None and out_of_range(NUMBER_BOUND + 1) == NUMBER_BOUND + 1
    assert out_of_range(-NUMBER_BOUND - 1) == -NUMBER_BOUND - 1 and out_of_range(True) is None
    assert out_of_range(float(NUMBER_BOUND)) is None and out_of_range(math.inf) == math.inf
    assert math.isnan(out_of_range(math.nan)) and out_of_range(float(NUMBER_BOUND) * 2) == float(NUMBER_BOUND) * 2
    assert out_of_range({"a": 1, "b": [2, NUMBER_BOUND + 5, NUMBER_BOUND + 6]}) == NUMBER_BOUND + 5
    assert out_of_range([1, 2.5, {"x": 3}]) is None and out_of_range("12") is None
    assert shown_number(10**400) == "a number of about 401 digits"
    assert shown_number(-(10**15)) == "a number of about 16 digits"
    assert shown_number(10**15 - 1) == "999999999999999"
    assert shown_number(1.5e300) == "1.5e+300" and shown_number("x" * 50) == "x" * 40
