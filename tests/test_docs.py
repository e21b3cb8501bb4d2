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
