"""A MUC-4-style terrorism template: a second, small schema that llmx extracts and scores with
no change to llmx/ (see tests/test_scoring.py for its hand-made gold case)."""

from enum import StrEnum

from pydantic import BaseModel, Field


class IncidentType(StrEnum):
    attack = "attack"
    bombing = "bombing"
    kidnapping = "kidnapping"
    arson = "arson"
    robbery = "robbery"


class Template(BaseModel):
    """One terrorist incident in the MUC-4 sense."""

    incident_type: IncidentType = Field(description="Kind of incident.")
    perpetrator: str | None = Field(
        description="Individual or organisation responsible, as named.",
        json_schema_extra={"llmx": {"match": "alias", "threshold": 80}},
    )
    target: str | None = Field(
        description="Physical target: building, vehicle, facility.",
        json_schema_extra={"llmx": {"match": "fuzzy", "threshold": 70}},
    )
    victim: str | None = Field(description="People harmed, as named or described.")
    weapon: str | None = Field(description="Instrument used, e.g. 'car bomb'.")
    evidence: str = Field(description="The sentence reporting the incident, verbatim.")


class Extraction(BaseModel):
    templates: list[Template] = Field(description="One template per incident.")
