"""The example rules shipped in examples/rules.yaml are valid rules."""

from __future__ import annotations

from pathlib import Path

import yaml

from autoinvoice.domain.triggers import RuleKind, parse_rules

EXAMPLE = Path(__file__).parents[3] / "examples" / "rules.yaml"


def test_the_example_rules_parse_and_cover_every_kind_of_trigger() -> None:
    rules = parse_rules(yaml.safe_load(EXAMPLE.read_text()))
    assert {r.kind for r in rules} == set(RuleKind)
    assert len({r.name for r in rules}) == len(rules) == 5
