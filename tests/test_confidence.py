"""How sure llmx is (issue 30): token probabilities of each value, calibration, the figures that
say whether the confidences mean what they say, and the commands that show and use them."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from llmx.core.calibration import Calibration, Value, caught_at, ece, fit, reliability
from llmx.core.confidence import UNKNOWN, Token, raw_confidence, record_value_spans, value_probabilities
from llmx.inputs.articles import Article, load_articles
from llmx.inputs.gold import load_gold
from llmx.inputs.schemas import load_schema
from llmx.model.server import make_client
from llmx.testing.fake_model import Reply, fake_tokens, mock_transport, schema_answer
from llmx.testing.gold_oracle import gold_answers
from llmx.testing.stub_server import StubServer
from tests.helpers import extract_args, make_extractor, run_cli


def tokens(content: str, doubt: dict[str, float] | None = None) -> list[Token]:
    return [Token(t["token"], t["logprob"]) for t in fake_tokens(content, doubt)]


def test_value_spans_follow_the_json_whatever_its_spacing_and_escapes() -> None:
    content = '```json\n{"items" : [ {"a": "say \\"hi\\", ok", "b":null,"c": 12},{"a": [1, {"x": 2}]} ]}\n```'
    spans = record_value_spans(content, "items")
    assert spans is not None and len(spans) == 2
    assert [content[s:e] for s, e in spans[0].values()] == ['"say \\"hi\\", ok"', "null", "12"]
    assert content[slice(*spans[1]["a"])] == '[1, {"x": 2}]'
    assert record_value_spans('{"other": []}', "items") is None
    assert record_value_spans("not json", "items") is None


def test_a_value_is_as_likely_as_the_product_of_its_tokens() -> None:
    content = '{"items": [{"who": "Islamic State", "killed": 3}, {"who": null, "killed": 3}]}'
    found = value_probabilities(tokens(content, {"Islamic": -1.0, "State": -0.5}), content, "items")
    assert found is not None
    # the tokens "Islamic" (-1.0) and " State" (-0.5) and the quotes around them (-0.001 each)
    assert found[0]["who"] == pytest.approx(math.exp(-1.5 - 0.002), rel=1e-6)
    assert found[0]["killed"] > 0.99 and found[1]["who"] > 0.99
    other = tokens(content.replace("3", "4"))  # tokens of another text: no confidence, never a wrong one
    assert value_probabilities(other, content, "items") is None


def test_agreement_raises_the_raw_score_and_a_check_makes_it_unknown() -> None:
    assert raw_confidence([0.6], False) == pytest.approx(0.6)
    assert raw_confidence([0.6, 0.6], False) == pytest.approx(0.84)
    assert raw_confidence([0.99], True) == UNKNOWN and raw_confidence([], False) == UNKNOWN


def test_ece_reliability_and_caught_at_20_count_honestly() -> None:
    confidences = [0.9] * 10 + [0.3] * 10
    right = [True] * 9 + [False] + [True] * 3 + [False] * 7
    assert ece(confidences, right) == 0.0  # 90% right at 0.9, 30% at 0.3
    bins = reliability(confidences, right)
    assert [(b["n"], b["accuracy"]) for b in bins] == [(10, 0.3), (10, 0.9)]
    # 20% of 20 = the 4 least sure, all from the 0.3 tie of 10 (7 wrong): 4/10 of 7 of the 8 wrong
    assert caught_at(confidences, right) == pytest.approx(0.4 * 7 / 8, abs=1e-4)
    flat = [0.5] * 20  # one tie: no order to exploit, a fifth of the wrong
    assert caught_at(flat, right) == pytest.approx(0.2)
    assert caught_at(confidences, [True] * 20) is None and ece([], []) is None


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_a_calibration_learns_the_observed_rate_and_survives_json(method: Any) -> None:
    # 40 values of one field: raw 0.9 right 3 times in 4, raw 0.2 right 1 time in 4
    values = [Value("a", 0.9, right=i % 4 != 0) for i in range(40)] + [
        Value("a", 0.2, right=i % 4 == 0) for i in range(40)
    ]
    calibration = fit(values, method)
    assert "a" in calibration.models and "*" in calibration.models
    again = Calibration.from_dict(json.loads(json.dumps(calibration.to_dict())))
    high, low = again.probability(Value("a", 0.9)), again.probability(Value("a", 0.2))
    assert high == pytest.approx(0.75, abs=0.05) and low == pytest.approx(0.25, abs=0.05)
    assert again.probability(Value("unseen", 0.9)) == pytest.approx(high, abs=0.1)  # the fit of all fields
    with pytest.raises(ValueError):
        Calibration.from_dict({"version": 9})


ARTICLE = Article(
    id="a1", text="Drones sent by Hamas hit the Ain al-Asad airbase on Monday, killing 2. Nobody was hurt."
)


def test_extraction_gives_each_value_its_confidence(tmp_path: Path, live_requests: None) -> None:
    def script(body: dict[str, Any], number: int) -> Reply:
        reply = schema_answer(body, attacker="Hamas", killed=2, location="Baghdad")
        reply.doubt = {"Hamas": -1.0}
        return reply

    client = make_client("sk", "http://fake/v1", 5, mock_transport(script))
    bound = make_extractor(tmp_path / "tape", client, "auto", "m", {"temperature": 0.0, "logprobs": True})
    result = asyncio.run(bound.extract(ARTICLE))
    (item,) = result.incidents
    assert item.confidence is not None and item.confidence_raw == item.confidence and not item.calibrated
    assert item.confidence["attacker"] == pytest.approx(math.exp(-1.0 - 0.002), rel=1e-3)
    assert item.confidence["killed"] > 0.99
    assert item.confidence["location"] == UNKNOWN  # "Baghdad" is not in the article: the check nulled it
    assert "evidence" not in item.confidence and "date_text" not in item.confidence  # not scored
    # replayed, the same confidences (the cassette keeps the tokens)
    replay = make_extractor(tmp_path / "tape", None, "replay", "m", {"temperature": 0.0, "logprobs": True})
    replayed = asyncio.run(replay.extract(ARTICLE))
    assert replayed.incidents[0].confidence == item.confidence


def test_no_logprobs_no_confidence(tmp_path: Path, live_requests: None) -> None:
    client = make_client("sk", "http://fake/v1", 5, mock_transport(lambda body, n: schema_answer(body)))
    bound = make_extractor(tmp_path / "tape", client, "auto", "m", {"temperature": 0.0})
    (item,) = asyncio.run(bound.extract(ARTICLE)).incidents
    assert item.confidence is None


def _doubting_oracle(project: Path) -> Any:
    """The gold as answers, with every third record's attacker replaced by a wrong name the
    model is unsure of (the rest sure): where the doubt is, the errors are."""
    schema = load_schema("incident", project / "schemas")
    articles = load_articles([project / "challenge"])
    gold = load_gold(project / "gold", schema)
    oracle = gold_answers(articles, gold)

    def script(body: dict[str, Any], number: int) -> Reply:
        reply = oracle(body, number)
        if not body.get("response_format"):
            return reply
        data = json.loads(reply.content)
        for i, record in enumerate(data["incidents"]):
            if (len(body["messages"][-1]["content"]) + i) % 3 == 0:
                record["attacker"] = "Zorblat Brigade"
        reply.content = json.dumps(data)
        reply.doubt = {"Zorblat": -2.0}
        return reply

    return script


def test_score_calibrate_and_export_in_a_project(project: Path, live_requests: None) -> None:
    with StubServer(script=_doubting_oracle(project)) as server:
        made = run_cli(*extract_args(server.base_url, "runs/r", inputs="challenge/"))
        assert made.exit_code == 0, made.output
    scored = run_cli("score", "runs/r", "--json")
    report = json.loads(scored.output)["calibration"]
    assert report["calibrated"] is False and report["method"] == "raw"
    assert report["n"] > 100 and report["wrong"] > 0
    assert report["caught_at_20"] >= 0.5  # the wrong attackers are the doubted ones
    assert set(report["fields"]) >= {"attacker", "date", "killed"} and report["fields"]["attacker"]["n"] > 10
    assert "how sure" in run_cli("score", "runs/r").output
    assert run_cli("view", "runs/r").exit_code == 0
    page = (project / "runs" / "r" / "view.html").read_text()
    assert 'aria-label="reliability of r"' in page and 'id="hide-sure"' in page
    assert 'title="how sure llmx is of this value"' in page  # each value's confidence beside it
    _sample_by_doubt(project)
    calibrated = run_cli("calibrate", "runs/r")
    assert calibrated.exit_code == 0 and (project / "calibration.json").is_file(), calibrated.output
    again = json.loads(run_cli("score", "runs/r", "--json").output)["calibration"]
    assert again["calibrated"] is True and again["fitted_on_these_articles"] > 0
    assert again["ece"] <= report["ece"]
    replayed = run_cli("extract", "challenge/", "--cassettes", "tape", "--out", "runs/again", "--replay")
    assert replayed.exit_code == 0, replayed.output
    lines = [json.loads(x) for x in (project / "runs" / "again" / "extractions.jsonl").read_text().splitlines()]
    items = [item for line in lines for item in line["incidents"]]
    assert items and all(item["calibrated"] for item in items)
    rows = list(csv.DictReader(io.StringIO(run_cli("export", "runs/again").output)))
    assert "attacker_confidence" in rows[0] and all(
        0 <= float(r["attacker_confidence"]) <= 1 for r in rows if r["attacker_confidence"]
    )


def test_a_broken_calibration_file_is_one_line_naming_it(project: Path, seed_run: Path) -> None:
    (project / "calibration.json").write_text('{"version": 1}')
    result = run_cli("score", str(seed_run))
    assert result.exit_code != 0 and "calibration.json" in result.output and "Traceback" not in result.output


def test_runs_made_before_confidences_still_read() -> None:
    from llmx.runs.results import ExtractedRecord

    old = ExtractedRecord.model_validate({"record": {"a": 1}, "verification": []})  # a line of an older run
    assert old.confidence is None and old.confidence_raw is None and not old.calibrated


def _sample_by_doubt(project: Path) -> None:
    from llmx.app.gold.annotation import AnnotationSession
    from llmx.inputs.config import load_settings
    from llmx.runs.folder import read_results

    (project / "no_gold").mkdir()
    sampled = run_cli("sample", "runs/r", "--by", "doubt", "--n", "5", "--gold", "no_gold")
    assert sampled.exit_code == 0, sampled.output
    picked = [
        line.split()[0] for line in (project / "runs" / "r" / "sample.txt").read_text().splitlines() if line[0] != "#"
    ]
    unsure = {
        r.article_id: sum(1 - p for item in r.incidents for p in (item.confidence or {}).values())
        for r in read_results(project / "runs" / "r")
    }
    ranked = sorted(unsure, key=lambda aid: (-round(unsure[aid], 4), aid))
    assert picked == ranked[:5] and unsure[picked[0]] > min(unsure.values())
    session = AnnotationSession.open(project / "runs" / "r", load_settings(), project / "no_gold")
    assert session.order == ranked  # the annotate page opens the least sure article first
    records = session.article(ranked[0])["run"]
    lowest = [min(r["confidence"].values()) for r in records]
    assert lowest == sorted(lowest)  # and its least sure record first
