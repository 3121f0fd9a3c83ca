"""Incident schema, modelled on the ACLED codebook (see docs/codebook.md).

Edit this file to change what llmx extracts; no code in llmx/ needs to change.

Rules the loader relies on:
- ``Extraction`` is the response model; its one list field holds the records.
- Every field is required and nullable: under a JSON grammar a field with a default becomes
  optional and small models simply omit it. ``null`` means "not reported", never "none".
- A field named ``evidence`` is grounded: llmx looks the quote up in the article.
- ``json_schema_extra={"llmx": {...}}`` says how ``llmx score`` compares a field:
  ``match`` is one of exact, fuzzy, alias, date, number, ignore; ``tolerance`` is for numbers;
  ``threshold`` (0-100) for fuzzy; ``identity`` marks a place or an actor: two records can be the
  same incident when their quotes overlap or they agree on one of these (never on date or weapon
  alone). llmx strips these keys before the model sees the schema.
- ``verify`` says what in the article must support a value (see llmx/verify.py): ``date``
  (written in the quoted fields, or resolved from the publication date), ``count`` (the number,
  or "none" for 0, stated for that casualty kind), ``present`` (the name occurs in the article),
  ``event`` (the quote is in the article and names an attack).
- ``EVENT`` (below the record model) says when records of different articles report one event
  and how the event's fields are fused (``llmx events``; see llmx/core/event_rules.py and
  docs/codebook.md, "From reports to events").
"""

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

# Words that say a place is a province-level unit: admin_region must be named with one of them.
ADMIN_WORDS = ["province", "governorate", "region", "oblast", "state", "district", "county", "prefecture"]
# The event lexicon (words that name an attack), grouped by event class in a data file beside this one.
# A copy of this file without events.yaml beside it checks with llmx's built-in words instead.
_LEXICON = Path(__file__).parent / "events.yaml"
EVENT_WORDS = [w for ws in yaml.safe_load(_LEXICON.read_text()).values() for w in ws] if _LEXICON.is_file() else []


class Weapon(StrEnum):
    drone = "drone"
    rocket = "rocket"
    missile = "missile"
    air_or_drone_strike = "air/drone strike"
    artillery = "artillery"
    explosive = "explosive"
    gunfire = "gunfire"
    other = "other"


class Incident(BaseModel):
    """One attack: one place, one day, one attacker. Never an aggregate of many attacks."""

    date: str | None = Field(
        description="Date of the attack as YYYY-MM-DD, or YYYY-MM if only the month is known; "
        "null unless the article lets you resolve it (use the publication date for 'on Monday').",
        json_schema_extra={"llmx": {"match": "date", "verify": {"check": "date", "quotes": ["date_text", "evidence"]}}},
    )
    date_text: str | None = Field(
        description="The date exactly as the article words it.",
        json_schema_extra={"llmx": {"match": "ignore"}},
    )
    location: str | None = Field(
        description="Most precise place the article names for the attack (base, town, district); null if none.",
        json_schema_extra={"llmx": {"match": "alias", "threshold": 80, "identity": True, "verify": "present"}},
    )
    admin_region: str | None = Field(
        description="Province or governorate, only if the article names it; otherwise null.",
        json_schema_extra={
            "llmx": {
                "match": "alias",
                "identity": True,
                "verify": {"check": "present", "differs_from": "country", "near": ADMIN_WORDS},
            }
        },
    )
    country: str | None = Field(
        description="Country where the attack landed or was aimed.",
        json_schema_extra={"llmx": {"match": "alias", "identity": True}},
    )
    attacker: str | None = Field(
        description="Who carried out the attack, as the article names them; null if it does not say.",
        json_schema_extra={"llmx": {"match": "alias", "threshold": 80, "identity": True, "verify": "actor"}},
    )
    claimed_by: str | None = Field(
        description="Group that claimed responsibility, if any.",
        json_schema_extra={"llmx": {"match": "alias", "threshold": 80, "identity": True, "verify": "actor"}},
    )
    target: str | None = Field(
        description="Who or what was attacked, in the article's words.",
        json_schema_extra={"llmx": {"match": "fuzzy", "threshold": 70, "identity": True}},
    )
    weapon: Weapon = Field(description="Main weapon used.", json_schema_extra={"llmx": {"match": "exact"}})
    intercepted: bool | None = Field(
        description="true if the projectiles were intercepted or shot down, false if they hit.",
        json_schema_extra={"llmx": {"match": "exact"}},
    )
    killed: int | None = Field(
        description="People killed; 0 if the article says none; null if not reported.",
        json_schema_extra={
            "llmx": {"match": "number", "tolerance": 0, "verify": {"check": "count", "casualty": "killed"}}
        },
    )
    injured: int | None = Field(
        description="People injured; 0 if the article says none; null if not reported.",
        json_schema_extra={
            "llmx": {"match": "number", "tolerance": 0, "verify": {"check": "count", "casualty": "injured"}}
        },
    )
    evidence: str = Field(
        description="The exact sentence of the article that reports this attack, copied verbatim.",
        json_schema_extra={
            "llmx": {"match": "ignore", "verify": {"check": "event", **({"words": EVENT_WORDS} if EVENT_WORDS else {})}}
        },
    )


# When two reports (records of different articles) are one event, and how the event's fields
# are fused from theirs. Reports within three days that share a place word, an actor or a rare
# word of their sentences are weighed field by field (docs/codebook.md, "From reports to events");
# two explicit days more than a day apart, or two different named places at the most precise
# level both name, keep them apart. Counts take the lowest figure (the conservative one, as
# ACLED does), with every other figure kept as a dispute.
WEAPON_CLASSES = {
    "aerial": [Weapon.drone.value, Weapon.air_or_drone_strike.value],
    "projectile": [Weapon.rocket.value, Weapon.missile.value, Weapon.artillery.value],
    "explosive": [Weapon.explosive.value],
    "gunfire": [Weapon.gunfire.value],
}  # "other" is in no class: it agrees with any weapon
# Words of a report's own sentence that name a weapon class: "an explosive-laden drone" names both.
WEAPON_WORDS = {
    "aerial": ["drone", "drones", "airstrike", "airstrikes", "strike", "warplane", "warplanes", "jets", "aircraft"],
    "projectile": ["rocket", "rockets", "missile", "missiles", "artillery", "shell", "shells", "shelling", "mortar"],
    "explosive": ["bomb", "bombs", "bombing", "explosive", "explosives", "ied", "blast", "exploded"],
    "gunfire": ["gunfire", "gunmen", "shot", "shooting", "gunman"],
}
EVENT = {
    "link": {"threshold": 0.5, "keep_apart": -2.0, "estimate": "gold"},
    "date": {"agree": "window", "days": 1, "published_days": 2, "slack": 2, "text": "date_text", "fuse": "earliest"},
    "date_text": {"fuse": "union"},
    "location": {"agree": "place", "level": 1},
    "admin_region": {"agree": "place", "level": 2},
    "country": {"agree": "block"},
    "attacker": {"agree": "compatible", "anchor": True},
    "claimed_by": {"agree": "compatible", "anchor": True},
    "target": {"fuse": "union"},
    "weapon": {"agree": "class", "classes": WEAPON_CLASSES, "words": WEAPON_WORDS},
    "intercepted": {"fuse": "mode"},
    "killed": {"agree": "count", "fuse": "min"},
    "injured": {"agree": "count", "fuse": "min"},
    "evidence": {"agree": "words", "fuse": "union"},
}


class Extraction(BaseModel):
    incidents: list[Incident] = Field(description="Every distinct attack the article reports.")
