"""Roles with types: is a value an actor (a state, a force, a group), and which one?

A small model puts whatever noun is near in the attacker's place: the weapon ("Russian drones"
is Russia, "drones" is no one), the victim ("civilians"), the source ("the news agency"). The
project's actor vocabulary (``schemas/actors.yaml``, read by :mod:`llmx.inputs.aliases`) names
the actors, the words for their arms and means (``roles``) and the words that make a value
something else (``not_actors``). Pure: strings in, verdicts out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from llmx.core.normalize import normalize

NOT_AN_ACTOR = "names no actor"  # the words of the finding a check writes (and tests read)


@dataclass(frozen=True)
class ActorVocabulary:
    """``names``: normalised name or alias → canonical name as written in the vocabulary."""

    names: Mapping[str, str] = field(default_factory=dict)
    roles: tuple[str, ...] = ()  # normalised
    not_actors: Mapping[str, str] = field(default_factory=dict)  # normalised word or phrase → its kind

    @classmethod
    def from_mapping(
        cls,
        actors: Mapping[str, Sequence[str]],
        roles: Sequence[str] = (),
        not_actors: Mapping[str, Sequence[str]] | None = None,
    ) -> ActorVocabulary:
        names: dict[str, str] = {}
        for canonical, others in actors.items():
            for name in [canonical, *others]:
                if normalize(name):
                    names[normalize(name)] = canonical
        kinds = {normalize(w): kind for kind, words in (not_actors or {}).items() for w in words if normalize(w)}
        return cls(names=names, roles=tuple(r for r in (normalize(r) for r in roles) if r), not_actors=kinds)

    @cached_property
    def _role_pattern(self) -> re.Pattern[str] | None:
        if not self.roles:
            return None
        longest_first = sorted(set(self.roles), key=len, reverse=True)
        return re.compile(r"\b(?:" + "|".join(re.escape(r) for r in longest_first) + r")\b")

    @cached_property
    def _not_actor_pattern(self) -> re.Pattern[str] | None:
        if not self.not_actors:
            return None
        longest_first = sorted(self.not_actors, key=len, reverse=True)
        return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in longest_first) + r")\b")

    def actor(self, value: str) -> str | None:
        """The canonical actor ``value`` names: itself, or one of its names with role words around
        it ("Israeli warplanes", "Russia's army", "the US-led coalition"); None when unknown."""
        key = normalize(value)
        if key in self.names:
            return self.names[key]
        if self._role_pattern is None:
            return None
        rest = " ".join(self._role_pattern.sub(" ", key).split())
        rest = re.sub(r"^(?:the|a|an) ", "", rest)
        for candidate in (rest, re.sub(r"s$", "", rest)):  # "russias" (Russia's) is Russia
            if candidate and candidate in self.names:
                return self.names[candidate]
        return None

    def not_an_actor(self, value: str) -> str | None:
        """The kind of thing ``value`` names when it is not an actor: a reporting source or a
        casualty when it holds such a word; a weapon or unknown when every word of it is such a
        word or a small word ("drones", "an unidentified aircraft"). None: it may be an actor."""
        key = normalize(value)
        if not key or self._not_actor_pattern is None or self.actor(value) is not None:
            return None
        kinds = [self.not_actors[m.group(0)] for m in self._not_actor_pattern.finditer(key)]
        for telling in ("source", "casualty"):  # "Russia's defence ministry", "Israeli civilians": never the attacker
            if telling in kinds:
                return telling
        rest = self._not_actor_pattern.sub(" ", key).split()
        if rest or not kinds:
            return None
        meaningful = [k for k in kinds if k != "small"]
        return meaningful[0] if meaningful else None
