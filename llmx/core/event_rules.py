"""When two reports are one event, and how an event's fields are fused: the rule a schema
declares (a module-level ``EVENT = {field: {...}}``, or ``"event"`` in a field's
``json_schema_extra={"llmx": {...}}``), parsed and checked here. Pure: no I/O.

Each field's declaration is a dict:

- ``agree`` (optional): how the field compares two reports (:mod:`llmx.core.event_compare`
  lists the levels): ``"block"`` (the country: weighed, same or different), ``"window"`` (the
  date: ``days``, the most days between two *explicit* dates, a veto beyond; ``slack``, how
  many more days dates from weekday words may differ, weighed; ``published_days``, how many
  days before its publication an undated report is placed; ``text``, the field with the date's
  own words), ``"place"`` (``level`` 1 is the most precise: two different names there are a
  veto; other levels weigh), ``"compatible"`` (an actor with ``anchor: true``: normalised,
  same, sharing a name, or different), ``"class"`` (``classes``: class name → values;
  ``words``: class name → words of a report's sentence that name it), ``"count"`` (casualty
  figures: equal, close, far), ``"words"`` (the report's own sentence: names and numbers shared);
- ``fuse``: how the event's value is made from its reports' values: ``min``, ``max`` (numbers),
  ``earliest``, ``latest`` (dates, the most precise first), ``mode`` (the value most reports
  give), ``union`` (every distinct value, as a list). Default ``mode``.

And the key ``"link"`` (not a field): ``threshold`` (bits at which a pair joins), ``keep_apart``
(the least every pair of an event must weigh), ``estimate`` (``gold``, ``em`` or ``fixed``),
see :class:`LinkSettings`. docs/codebook.md ("From reports to events") explains the rule in
words.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

AgreeKind = Literal["block", "window", "place", "compatible", "class", "count", "words"]
FuseOp = Literal["min", "max", "earliest", "latest", "mode", "union"]
AGREE_KINDS: tuple[str, ...] = typing.get_args(AgreeKind)
FUSE_OPS: tuple[str, ...] = typing.get_args(FuseOp)
_OPTIONS: dict[str | None, tuple[str, ...]] = {
    None: (),
    "block": (),
    "window": ("days", "published_days", "slack", "text"),
    "place": ("level",),
    "compatible": ("anchor",),
    "class": ("classes", "words"),
    "count": (),
    "words": (),
}
LINK_OPTIONS = ("threshold", "keep_apart", "estimate")
ESTIMATES = ("gold", "em", "fixed")


@dataclass(frozen=True)
class FieldEventRule:
    """One field's part in the rule."""

    name: str
    agree: AgreeKind | None = None
    fuse: FuseOp = "mode"
    days: int = 0  # window: most days between two reports' dates
    published_days: int = 0  # window: an undated report happened up to this many days before publication
    level: int = 0  # place: 1 is the most precise
    anchor: bool = False  # compatible: agreeing on it can make two dated reports one event (an actor)
    classes: Mapping[str, str] = field(default_factory=dict)  # class: value -> its class
    words: Mapping[str, str] = field(default_factory=dict)  # class: a word of a report's sentence -> its class
    slack: int = 0  # window: more days two dates inferred from weekday words may differ (a weight, no veto)
    text: str | None = None  # window: the field with the date's own words (a day number or month: explicit)


@dataclass(frozen=True)
class LinkSettings:
    """When a pair's match weight makes it one event (``"link"`` in EVENT): ``threshold``, the
    weight (in bits, log2 of the odds) at or above which two reports join; ``keep_apart``, the
    weight below which two reports may not share an event even through others (every pair of an
    event must reach it); ``estimate``, where m and u come from: ``gold`` (the project's gold
    events, when it has some; else as ``em``), ``em`` (expectation-maximisation on the run's own
    candidate pairs) or ``fixed`` (the defaults of :mod:`llmx.core.event_weights`)."""

    threshold: float = 0.5
    keep_apart: float = -2.0
    estimate: str = "gold"


@dataclass(frozen=True)
class EventRule:
    """The whole rule, by role: what blocks, the date window, places from most precise, the rest."""

    fields: Mapping[str, FieldEventRule]
    link: LinkSettings = field(default_factory=LinkSettings)

    def _with(self, kind: str) -> tuple[FieldEventRule, ...]:
        return tuple(rule for rule in self.fields.values() if rule.agree == kind)

    @property
    def block(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self._with("block"))

    @property
    def window(self) -> FieldEventRule:
        (window,) = self._with("window")
        return window

    @property
    def places(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in sorted(self._with("place"), key=lambda r: r.level))

    @property
    def compatible(self) -> tuple[FieldEventRule, ...]:
        return self._with("compatible")

    @property
    def classed(self) -> tuple[FieldEventRule, ...]:
        return self._with("class")

    @property
    def counts(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self._with("count"))

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self._with("words"))

    def fuse(self, name: str) -> FuseOp:
        rule = self.fields.get(name)
        return rule.fuse if rule else "mode"


def parse_field_rule(name: str, declared: Any) -> FieldEventRule:
    """One field's declaration; ValueError (naming what is wrong and what is allowed) if bad."""
    if not isinstance(declared, Mapping):
        raise ValueError(f"event rule must be a dict like {{'agree': 'compatible', 'fuse': 'mode'}}, not {declared!r}")
    options = dict(declared)
    agree = options.pop("agree", None)
    if agree is not None and agree not in AGREE_KINDS:
        raise ValueError(f"event agree '{agree}': use one of {', '.join(AGREE_KINDS)}")
    fuse = options.pop("fuse", "mode")
    if fuse not in FUSE_OPS:
        raise ValueError(f"event fuse '{fuse}': use one of {', '.join(FUSE_OPS)}")
    _check_options(agree, options)
    classes = _classes(options.pop("classes", None)) if agree == "class" else {}
    words = _words(options.pop("words", None) or {}, classes)
    return FieldEventRule(name=name, agree=agree, fuse=fuse, classes=classes, words=words, **options)


def _check_options(agree: str | None, options: Mapping[str, Any]) -> None:
    """The options ``agree`` takes, each of the kind it needs."""
    allowed = _OPTIONS[agree]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        what = f"agree '{agree}'" if agree else "a field with no agree"
        hint = f"; {what} takes {', '.join(allowed)}" if allowed else f"; {what} takes no options"
        raise ValueError(f"event rule: unknown option(s) {', '.join(unknown)}{hint}")
    for key in ("days", "published_days", "level", "slack"):
        value = options.get(key, 0)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"event {key} must be a whole number ≥ 0, not {value!r}")
    if agree == "place" and options.get("level", 0) < 1:
        raise ValueError("event agree 'place' needs level ≥ 1 (1 = the most precise place)")
    if not isinstance(options.get("anchor", False), bool):
        raise ValueError(f"event anchor must be true or false, not {options['anchor']!r}")
    if options.get("text") is not None and not isinstance(options["text"], str):
        raise ValueError(f"event text must name the field with the date's words, not {options['text']!r}")


def _classes(groups: Any) -> dict[str, str]:
    """``{class: [values]}`` of agree 'class' as ``{value: class}``; a value in one class only."""
    if not isinstance(groups, Mapping) or not groups:
        raise ValueError("event agree 'class' needs classes: {class name: [values]}")
    classes: dict[str, str] = {}
    for group, values in groups.items():
        if not isinstance(values, list | tuple) or not values:
            raise ValueError(f"event class '{group}' must list its values")
        for value in values:
            if str(value) in classes:
                raise ValueError(f"event class value '{value}' is in two classes")
            classes[str(value)] = str(group)
    return classes


def _words(declared: Mapping[str, Any], classes: Mapping[str, str]) -> dict[str, str]:
    """``{class: [words]}``: the words that name a class in a report's own sentences."""
    words: dict[str, str] = {}
    for group, listed in declared.items():
        if group not in classes.values() or not isinstance(listed, list | tuple):
            raise ValueError(f"event words: '{group}' must be a class named in classes, with a list of words")
        words.update({str(word).casefold(): str(group) for word in listed})
    return words


def parse_link(declared: Any) -> LinkSettings:
    """EVENT's ``"link"``: the thresholds; ValueError naming what is wrong."""
    if not isinstance(declared, Mapping):
        raise ValueError(f"event link must be a dict like {{'threshold': 2.0}}, not {declared!r}")
    unknown = sorted(set(declared) - set(LINK_OPTIONS))
    if unknown:
        raise ValueError(f"event link: unknown option(s) {', '.join(unknown)}; it takes {', '.join(LINK_OPTIONS)}")
    for key in ("threshold", "keep_apart"):
        value = declared.get(key, 0.0)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"event link {key} must be a number of bits, not {value!r}")
    if declared.get("estimate", "gold") not in ESTIMATES:
        raise ValueError(f"event link estimate '{declared['estimate']}': use one of {', '.join(ESTIMATES)}")
    link = LinkSettings(
        threshold=float(declared.get("threshold", LinkSettings.threshold)),
        keep_apart=float(declared.get("keep_apart", LinkSettings.keep_apart)),
        estimate=str(declared.get("estimate", LinkSettings.estimate)),
    )
    if link.keep_apart > link.threshold:
        raise ValueError(f"event link keep_apart ({link.keep_apart}) must not be above threshold ({link.threshold})")
    return link


def build_rule(declared: Mapping[str, Any], field_names: list[str]) -> EventRule:
    """The rule from ``{field: declaration}``; ValueError when it cannot decide anything safely."""
    declared = dict(declared)
    link = parse_link(declared.pop("link")) if "link" in declared and "link" not in field_names else LinkSettings()
    unknown = [name for name in declared if name not in field_names]
    if unknown:
        raise ValueError(f"event rule names no such field {', '.join(map(repr, unknown))}")
    rules: dict[str, FieldEventRule] = {}
    for name, item in declared.items():
        try:
            rules[name] = parse_field_rule(name, item)
        except ValueError as error:
            raise ValueError(f"field '{name}': {error}") from error
    rule = EventRule(rules, link)
    if not rule.block:
        raise ValueError("event rule has no field with agree 'block' (e.g. country): every pair would be compared")
    windows = [r.name for r in rules.values() if r.agree == "window"]
    if len(windows) != 1:
        raise ValueError(f"event rule needs exactly one field with agree 'window' (the date), not {len(windows)}")
    levels = [rules[name].level for name in rule.places]
    if len(set(levels)) != len(levels):
        raise ValueError(f"event place levels must differ, not {levels}")
    if not rule.places and not any(r.anchor for r in rule.compatible):
        raise ValueError("event rule has no anchor: declare a place (agree 'place') or an actor (anchor: true)")
    text = rule.window.text
    if text is not None and text not in field_names:
        raise ValueError(f"event window text names no such field '{text}'")
    return rule
