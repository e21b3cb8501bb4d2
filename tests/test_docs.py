"""README stays true: the rule catalogue and ranges it lists are the ones the code enforces."""

from __future__ import annotations

import re

from evpipe.rules import CATALOGUE, RANGES
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_lists_every_rule_with_its_severity():
    listed = dict(re.findall(r"^\| `(\w+)` \| (reject|warn) \|", README, re.MULTILINE))
    assert listed == {r.name: r.severity for r in CATALOGUE}


def test_readme_lists_every_physical_range():
    for column, (lo, hi) in RANGES.items():
        assert re.search(rf"{column}[^|]*\| {lo:g} – {hi:g} \|", README), column


def test_readme_profile_example_is_a_valid_profile():
    from evpipe.profile import parse_profile

    section = README.split("### Writing a profile for a new exporter", 1)[1]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    profile = parse_profile(example, "README example")
    assert profile.name == "my_operator" and profile.decimal == ","
    assert {f.name for f in profile.fields} >= {"charging_start_time", "energy_consumed_kwh"}


def test_readme_lists_every_profile():
    from evpipe.profile import all_profiles

    table = README.split("## Supported exports", 1)[1].split("### ", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE))
    assert listed == {p.name for p in all_profiles()}
