"""The gold loop without a browser: draft gold from a run, drafts never scored, agreement
(Krippendorff's alpha against hand-worked examples), and which articles to annotate next.
The annotate server's edits are in tests/test_annotate_server.py, the page in a real browser in
tests/test_annotate_browser.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from llmx.app.gold.annotation import AnnotationSession, read_list
from llmx.core.agreement import field_agreement, nominal_alpha
from llmx.core.grounding import Grounding
from llmx.core.verify import Correction
from llmx.inputs.articles import load_articles
from llmx.inputs.config import load_settings
from llmx.inputs.schemas import load_schema
from llmx.runs.folder import read_results
from llmx.runs.results import ArticleResult, ExtractedRecord, Provenance
from tests.helpers import ROOT, run_cli

SCHEMA = load_schema("incident", ROOT / "schemas")
FIELDS = list(SCHEMA.record_model.model_fields)


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def gold_file(article_id: str, incidents: list[dict[str, Any]], **header: Any) -> dict[str, Any]:
    return {"version": 1, "article_id": article_id, "schema": "incident", **header, "incidents": incidents}


def write_gold(folder: Path, article_id: str, incidents: list[dict[str, Any]], **header: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{article_id}.json"
    path.write_text(json.dumps(gold_file(article_id, incidents, **header), indent=2), encoding="utf-8")
    return path


def incident(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(FIELDS)
    base.update(weapon="drone", evidence="A drone struck the base.")
    base.update(fields)
    return base


# --- llmx gold draft --------------------------------------------------------------------------


def test_draft_holds_every_field_the_article_s_evidence_and_what_the_checks_said(seed_run: Path) -> None:
    result = run_cli("gold", "draft", seed_run, "--out", "drafts")
    assert result.exit_code == 0, result.output
    runs = {r.article_id: r for r in read_results(seed_run)}
    texts = {a.id: a.text for a in load_articles(["seeds/"])}  # as the run read them (date line apart)
    drafted = sorted(p.stem for p in Path("drafts").glob("*.json"))
    assert drafted == sorted(aid for aid, r in runs.items() if r.status == "ok")
    notes = 0
    for aid in drafted:
        data = read(Path("drafts") / f"{aid}.json")
        assert (data["status"], data["drafted_from"], data["article_id"]) == ("draft", str(seed_run), aid)
        assert len(data["incidents"]) == len(runs[aid].incidents)
        for item, drafted_incident in zip(runs[aid].incidents, data["incidents"], strict=True):
            assert [k for k in drafted_incident if k in FIELDS] == FIELDS  # every field, in schema order
            assert drafted_incident["pending"] is True
            assert {k: drafted_incident[k] for k in FIELDS if k != "evidence"} == {
                k: item.record.get(k) for k in FIELDS if k != "evidence"
            }
            g = item.grounding
            if g and g.grounded and g.start is not None and g.end is not None:
                assert drafted_incident["evidence"] == texts[aid][g.start : g.end].strip()  # the article's words
            for correction in item.verification:
                assert f"checks removed {correction.field}: {correction.reason}" in drafted_incident["note"]
                notes += 1
    assert notes, "the seed run has values the checks removed: the drafts must say so"
    assert "drafted 5 gold file(s) in drafts" in result.output


def test_draft_never_overwrites_gold(seed_run: Path) -> None:
    before = {p.name: p.read_bytes() for p in Path("gold").glob("*.json")}
    result = run_cli("gold", "draft", seed_run)  # into gold/, where every seed has gold
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in Path("gold").glob("*.json")} == before
    assert "kept 5 existing file(s)" in result.output and "000_e376b6ba81a78c64.json" in result.output
    assert "drafted 0 gold file(s)" in result.output


def test_a_failed_article_gets_no_draft(project: Path) -> None:
    run = Path("runs/f")
    write_run(run, [article("ok1", [incident()]), article("bad", [], failed=True)])
    result = run_cli("gold", "draft", run, "--out", "d")
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in Path("d").glob("*.json")) == ["ok1"]
    assert "no draft for 1 failed article(s): bad" in result.output


def test_draft_from_a_run_of_another_schema_is_refused_naming_both(project: Path) -> None:
    run = Path("runs/o")
    write_run(run, [article("a1", [incident()], schema="muc")])
    result = run_cli("gold", "draft", run, "--out", "d")
    assert result.exit_code == 2
    assert "made with schema muc" in result.output and "pass --schema" in result.output
    assert not Path("d").exists()


# --- drafts are never scored -----------------------------------------------------------------


def test_score_leaves_drafts_out_and_says_so_and_gold_check_lists_them(seed_run: Path) -> None:
    mixed = Path("mixed")
    shutil.copytree("gold", mixed)
    assert run_cli("gold", "draft", seed_run, "--out", "drafts").exit_code == 0
    for aid in ("000_e376b6ba81a78c64", "002_3967b8add1cdc5f9"):
        shutil.copy(Path("drafts") / f"{aid}.json", mixed / f"{aid}.json")
    scored = json.loads(run_cli("score", seed_run, "--gold", mixed, "--json").output)
    assert scored["gold_drafts_left_out"] == ["000_e376b6ba81a78c64", "002_3967b8add1cdc5f9"]
    assert "000_e376b6ba81a78c64" not in scored["articles"] and "001_d33b1ed68cf8519c" in scored["articles"]
    text = run_cli("score", seed_run, "--gold", mixed)
    assert text.exit_code == 0 and "left out 2 draft gold file(s)" in text.output
    assert "not scored (no gold)" not in text.output  # a draft is not "no gold"
    check = run_cli("gold", "check", mixed)
    assert check.exit_code == 0, check.output
    assert "2 draft(s), not scored until reviewed" in check.output and "002_3967b8add1cdc5f9" in check.output
    only_drafts = run_cli("score", seed_run, "--gold", "drafts")
    assert only_drafts.exit_code == 2 and "have only a draft" in only_drafts.output


def test_gold_check_refuses_a_pending_incident_in_a_reviewed_file(project: Path) -> None:
    write_gold(Path("g"), "a1", [{**incident(), "pending": True}])
    result = run_cli("gold", "check", "g")
    assert result.exit_code == 2 and "still pending review in a reviewed file" in result.output
    write_gold(Path("h"), "a1", [{**incident(), "pending": "yes"}], status="draft")
    assert "'pending' is true or absent" in run_cli("gold", "check", "h").output
    write_gold(Path("i"), "a1", [incident()], status="final")
    assert run_cli("gold", "check", "i").exit_code == 2


# --- agreement: Krippendorff's alpha, checked by hand ------------------------------------------


def test_nominal_alpha_equals_krippendorffs_worked_examples() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", A: two observers, binary
    # data, ten units:
    #   unit  1 2 3 4 5 6 7 8 9 10
    #   A     0 1 0 0 0 0 0 0 1 0
    #   B     1 1 1 0 0 1 0 0 0 0
    # Coincidence matrix (each unit's pair counted both ways): units 4,5,7,8,10 give 0-0 five
    # times -> o00 = 10; unit 2 gives 1-1 -> o11 = 2; units 1,3,6,9 disagree -> o01 = o10 = 4.
    # n0 = o00 + o01 = 14, n1 = o10 + o11 = 6, n = 20.
    # alpha = 1 - (n - 1) * o01 / (n0 * n1) = 1 - 19 * 4 / (14 * 6) = 1 - 76/84 = 2/21 = 0.0952.
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    assert nominal_alpha([a, b]) == pytest.approx(2 / 21)
    # Same paper, C: four observers, nominal values 1-5, missing data (None), twelve units (unit 12
    # has one value: not pairable). The paper's result: alpha_nominal = 0.743.
    n = None
    four = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    assert round(nominal_alpha(four) or 0, 3) == 0.743
    # Undefined, not 1.0 or 0.0: no variation at all, or nothing pairable.
    assert nominal_alpha([[1, 1, 1], [1, 1, 1]]) is None
    assert nominal_alpha([[1, n], [n, 2]]) is None


def test_field_agreement_codes_rule_equal_values_alike_and_null_as_a_value() -> None:
    from llmx.core.agreement import MISSING

    units = [("Islamic Resistance of Iraq", "Islamic Resistance in Iraq", True), (None, "Hezbollah", False)]
    units += [("Hamas", "Hamas", True), ("Hezbollah", MISSING, False)]
    found = field_agreement("attacker", units)
    assert (found.units, found.agreed) == (3, 2)  # the unannotated one is missing data, not a disagreement
    assert found.alpha == pytest.approx(nominal_alpha([["a", "null", "h"], ["a", "z", "h"]]))


def test_gold_agree_matches_incidents_and_gives_the_hand_worked_alpha(project: Path) -> None:
    a_values = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]  # the two-observer example above, on "intercepted"
    b_values = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    for unit, (va, vb) in enumerate(zip(a_values, b_values, strict=True)):
        place = f"Town{unit}"
        same = {"location": place, "country": "Iraq", "evidence": f"A drone struck {place} on Monday."}
        write_gold(Path("A"), f"u{unit}", [incident(**same, intercepted=bool(va))])
        extra = [incident(location="Basra", evidence="Rockets hit Basra.", weapon="rocket")] if unit == 0 else []
        write_gold(Path("B"), f"u{unit}", [incident(**same, intercepted=bool(vb)), *extra])
    write_gold(Path("A"), "only_in_a", [incident()])
    result = run_cli("gold", "agree", "A", "B", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["fields"]["intercepted"]["alpha"] == round(2 / 21, 4)
    assert found["fields"]["intercepted"]["units"] == 10 and found["fields"]["intercepted"]["agreed"] == 6
    assert found["fields"]["location"]["alpha"] is not None and found["fields"]["location"]["percent"] == 1.0
    assert found["fields"]["weapon"]["alpha"] is None  # every value "drone": nothing to agree on
    assert (found["incidents"]["tp"], found["incidents"]["fp"], found["incidents"]["fn"]) == (10, 1, 0)
    assert found["only_a"] == ["only_in_a"] and len(found["articles"]) == 10
    kinds = [(d["article_id"], d["kind"], d["field"]) for d in found["disagreements"]]
    assert sorted(k for k in kinds if k[1] == "field") == [(f"u{u}", "field", "intercepted") for u in (0, 2, 5, 8)]
    assert ("u0", "only_b", None) in kinds
    report = run_cli("gold", "agree", "A", "B")
    assert report.exit_code == 0 and "0.10" in report.output and "intercepted" in report.output


def test_gold_agree_with_a_run_gives_score_s_incident_numbers(seed_run: Path) -> None:
    agreed = json.loads(run_cli("gold", "agree", "gold", seed_run, "--json").output)
    scored = json.loads(run_cli("score", seed_run, "--json").output)
    assert agreed["incidents"] == scored["incidents"]
    assert agreed["b"]["kind"] == "run" and len(agreed["articles"]) == 5


def test_gold_agree_with_nothing_in_common_is_one_clear_line(project: Path) -> None:
    write_gold(Path("A"), "x1", [incident()])
    write_gold(Path("B"), "y1", [incident()], status="draft")
    result = run_cli("gold", "agree", "A", "B")
    assert (
        result.exit_code == 2
        and "share no annotated article" in result.output
        and "drafts left out: 1" in result.output
    )
    assert "Traceback" not in result.output


# --- llmx sample -----------------------------------------------------------------------------


def provenance(schema: str = "incident") -> Provenance:
    return Provenance(model="m", prompt="p", prompt_sha256="0", schema=schema, schema_sha256="0", mode="replay")


def article(
    aid: str,
    records: list[dict[str, Any]],
    removed: int = 0,
    ungrounded: bool = False,
    failed: bool = False,
    schema: str = "incident",
) -> ArticleResult:
    grounding = Grounding(status="ungrounded") if ungrounded else Grounding(status="exact", start=0, end=5, score=100)
    corrections = [Correction(field="killed", value=0, reason="the article does not say") for _ in range(removed)]
    items = [
        ExtractedRecord(record=r, grounding=grounding, verification=corrections if i == 0 else [])
        for i, r in enumerate(records)
    ]
    if failed:
        from llmx.runs.results import Failure

        return ArticleResult(
            article_id=aid, status="failed", error=Failure(kind="timeout", message="t"), provenance=provenance(schema)
        )
    return ArticleResult(article_id=aid, status="ok", incidents=items, provenance=provenance(schema))


def write_run(folder: Path, results: list[ArticleResult]) -> Path:
    folder.mkdir(parents=True)
    (folder / "extractions.jsonl").write_text("".join(r.model_dump_json(by_alias=True) + "\n" for r in results))
    return folder


def test_sample_ranks_disagreement_removed_values_and_ungrounded_and_skips_reviewed_gold(project: Path) -> None:
    erbil = incident(location="Erbil", evidence="A drone struck Erbil.")
    basra = incident(location="Basra", weapon="rocket", evidence="Rockets hit Basra.")
    first = [
        article("calm", [erbil]),
        article("disputed", [erbil]),
        article("checked", [erbil], removed=2),
        article("unfound", [erbil], ungrounded=True),
        article("annotated", [erbil], removed=5),
    ]
    second = [
        article("calm", [erbil]),
        article("disputed", [{**erbil, "killed": 3, "intercepted": True}, basra]),  # a record more, two fields differ
        article("checked", [erbil], removed=2),
        article("unfound", [erbil], ungrounded=True),
        article("annotated", [erbil], removed=5),
    ]
    write_run(Path("runs/a"), first)
    write_run(Path("runs/b"), second)
    write_gold(Path("g"), "annotated", [erbil])
    write_gold(Path("g"), "checked", [erbil], status="draft")  # a draft still needs a person
    result = run_cli("sample", "runs/a", "runs/b", "--n", "3", "--gold", "g", "-o", "next.txt")
    assert result.exit_code == 0, result.output
    assert read_list(Path("next.txt")) == ["disputed", "checked", "unfound"]  # 3 points, 2, 1; then calm 0
    text = Path("next.txt").read_text()
    assert "disputed  # 3 points: 3 disagreement between runs, 0 values removed, 0 ungrounded" in text
    assert "llmx annotate runs/a --list next.txt" in text
    assert "left out 1 article(s) with reviewed gold" in result.output
    one = run_cli("sample", "runs/a", "--n", "2", "--gold", "g")  # one run: the checks and grounding alone
    assert one.exit_code == 0, one.output
    assert read_list(Path("runs/a/sample.txt")) == ["checked", "unfound"]
    session = AnnotationSession.open(Path("runs/b"), load_settings(), Path("g"), ["seeds/"], Path("next.txt"))
    assert session.order == ["disputed", "checked", "unfound"]


def test_sample_and_annotate_refuse_bad_input_in_one_line(project: Path) -> None:
    write_run(Path("runs/a"), [article("a1", [incident()])])
    assert run_cli("sample", "runs/a", "--n", "0").exit_code == 2
    missing = run_cli("sample", "runs/nope", "--n", "3")
    assert missing.exit_code == 2 and "no extractions.jsonl" in missing.output
    Path("list.txt").write_text("# nothing here\nzzz\n")
    stray = run_cli("annotate", "runs/a", "--list", "list.txt", "--articles", "seeds/")
    assert stray.exit_code == 2 and "none of its articles is in runs/a" in stray.output
    for result in (missing, stray):
        assert "Traceback" not in result.output


# --- the README's section, as written ---------------------------------------------------------


def test_the_readme_gold_loop_runs_as_written_and_its_numbers_are_today_s(
    project: Path, shipped_recordings: None
) -> None:
    import re

    section = (ROOT / "README.md").read_text().split("## Making gold", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#", 1)[0].split() for line in block.splitlines() if line.startswith("llmx ")]
    assert [c[1] for c in commands].count("annotate") == 2  # it serves until stopped: the browser tests drive it
    for words in commands:
        if words[1] == "annotate":  # a person accepts three drafts, through the page's own edits
            session = AnnotationSession.open(Path("runs/x"), load_settings(), Path("gold-new"))
            for aid in session.order[:3]:
                for inc in session.article(aid)["incidents"]:
                    session.edit(aid, {"op": "accept", "id": inc["id"], "before": inc["data"]})
                session.edit(aid, {"op": "status", "value": "reviewed"})
            continue
        result = run_cli(*words[1:])
        assert result.exit_code == 0, (words, result.output)
        if words[1:3] == ["gold", "agree"]:
            assert "articles in both" in result.output and "3" in result.output
        if words[1] == "score":
            assert "left out 35 draft gold file(s)" in result.output
    assert len(list(Path("gold-new").glob("*.json"))) == 38
    first = re.search(r"puts\s+first\s+`(\w+)`", section)
    assert first is not None and read_list(Path("runs/x/sample.txt"))[0] == first.group(1)
    measured = json.loads(run_cli("gold", "agree", "gold", "runs/x", "--json").output)
    claimed = re.search(r"incident F1 ([0-9.]+); alpha (.*?):", section.replace("\n  ", " "), re.S)
    assert claimed is not None
    assert claimed.group(1) == f"{measured['incidents']['f1']:.2f}"
    for name, value in re.findall(r"(\w+) ([0-9]\.[0-9]{2})", claimed.group(2)):
        assert value == f"{measured['fields'][name]['alpha']:.2f}", name
    assert len(re.findall(r"(\w+) ([0-9]\.[0-9]{2})", claimed.group(2))) == len(measured["fields"])
