"""Which profile reads a file: matched by its header (delimiter sniffed), or forced by the user.

Each profile splits the header with its own delimiter and counts the columns it knows; a profile
matches when none of its required columns is missing. The match with the most known columns
wins. No match, or two equally good ones, refuses the file with a message naming the closest
profiles and what they miss: evpipe never guesses which reading is right.
"""

from __future__ import annotations

from dataclasses import dataclass

from evpipe.errors import FileRefused
from evpipe.parse import parse_header, sniff_delimiter
from evpipe.profile import HeaderMatch, Profile, all_profiles

FORCE_HINT = "set EVPIPE_PROFILE or --profile to choose one (`evpipe profiles` lists them)"


@dataclass(frozen=True)
class Detected:
    match: HeaderMatch
    header: list[str]
    delimiter: str  # sniffed from the header line
    ranking: list[HeaderMatch]  # every profile, best first

    @property
    def profile(self) -> Profile:
        return self.match.profile


def _rank(m: HeaderMatch) -> tuple[int, int, int, str]:
    required = max(len(m.profile.required_headers), 1)
    return (0 if m.ok else 1, round(100 * len(m.missing) / required), -m.found, m.profile.name)


def _describe(m: HeaderMatch) -> str:
    if m.ok:
        return f"{m.profile.name} ({m.found} known columns)"
    return f"{m.profile.name} (required column(s) missing: {', '.join(m.missing)})"


def detect_profile(
    header_raw: bytes,
    label: str,
    forced: str | None = None,
    profiles: tuple[Profile, ...] | None = None,
) -> Detected:
    profiles = profiles or all_profiles()
    sniffed = sniff_delimiter(header_raw)
    matches = [
        p.resolve(parse_header(header_raw, p.split_with(sniffed)), p.split_with(sniffed))
        for p in profiles
    ]
    ranking = sorted(matches, key=_rank)
    if forced:
        chosen = next((m for m in matches if m.profile.name == forced), None)
        if chosen is None:
            raise FileRefused(f"{label}: no profile named {forced!r} ({FORCE_HINT})")
        if not chosen.ok:
            raise FileRefused(
                f"{label}: line 1: required column(s) missing: {', '.join(chosen.missing)} "
                f"(profile {forced}, chosen by EVPIPE_PROFILE / --profile)"
            )
    else:
        good = [m for m in ranking if m.ok and m.found]
        if not good:
            closest = "; ".join(_describe(m) for m in ranking[:3])
            delim = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[sniffed]
            raise FileRefused(
                f"{label}: line 1: no export profile matches this header "
                f"({len(parse_header(header_raw, sniffed))} {delim}-separated columns); "
                f"closest: {closest}; {FORCE_HINT}, or add a profile (README: Supported exports)"
            )
        if len(good) > 1 and good[0].found == good[1].found:
            tied = [m.profile.name for m in good if m.found == good[0].found]
            raise FileRefused(
                f"{label}: line 1: the header matches profiles {' and '.join(tied)} equally "
                f"well ({good[0].found} known columns each); {FORCE_HINT}"
            )
        chosen = good[0]
    if chosen.twice:  # which of the two columns holds the data cannot be decided
        raise FileRefused(f"{label}: line 1: column(s) appear twice: {', '.join(chosen.twice)}")
    header = parse_header(header_raw, chosen.delimiter)
    return Detected(chosen, header, sniffed, ranking)
