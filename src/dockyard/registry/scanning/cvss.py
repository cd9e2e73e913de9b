"""CVSS base scores from vector strings (v3.0/v3.1 and v2), and ECR's severity for a score.

OSV records carry CVSS as vectors (`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`); the base score
is computed with the formulas of the FIRST specifications, and rated as ECR rates it: 9.0 and up
CRITICAL, 7.0 HIGH, 4.0 MEDIUM, 0.1 LOW, 0 INFORMATIONAL.
"""

from __future__ import annotations

import math

__all__ = ["base_score", "rating", "v2_base_score", "v3_base_score"]

_V3 = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
_V2 = {
    "AV": {"L": 0.395, "A": 0.646, "N": 1.0},
    "AC": {"H": 0.35, "M": 0.61, "L": 0.71},
    "Au": {"M": 0.45, "S": 0.56, "N": 0.704},
    "C": {"N": 0.0, "P": 0.275, "C": 0.660},
}


def _metrics(vector: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in vector.split("/"):
        if ":" in part:
            key, value = part.split(":", 1)
            out[key] = value
    return out


def _roundup(value: float) -> float:
    scaled = round(value * 100000)
    if scaled % 10000 == 0:
        return scaled / 100000.0
    return (math.floor(scaled / 10000) + 1) / 10.0


def v3_base_score(vector: str) -> float | None:
    m = _metrics(vector)
    try:
        scope = m["S"]
        av, ac, ui = _V3["AV"][m["AV"]], _V3["AC"][m["AC"]], _V3["UI"][m["UI"]]
        pr = _PR[scope][m["PR"]]
        c, i, a = (_V3["C"][m[k]] for k in ("C", "I", "A"))
    except KeyError:
        return None
    iss = 1 - (1 - c) * (1 - i) * (1 - a)
    if scope == "U":
        impact = 6.42 * iss
    else:
        impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15
    exploitability = 8.22 * av * ac * pr * ui
    if impact <= 0:
        return 0.0
    if scope == "U":
        return _roundup(min(impact + exploitability, 10))
    return _roundup(min(1.08 * (impact + exploitability), 10))


def v2_base_score(vector: str) -> float | None:
    m = _metrics(vector.removeprefix("(").removesuffix(")"))
    try:
        av, ac, au = _V2["AV"][m["AV"]], _V2["AC"][m["AC"]], _V2["Au"][m["Au"]]
        c, i, a = (_V2["C"][m[k]] for k in ("C", "I", "A"))
    except KeyError:
        return None
    impact = 10.41 * (1 - (1 - c) * (1 - i) * (1 - a))
    exploitability = 20 * av * ac * au
    factor = 0.0 if impact == 0 else 1.176
    return round(((0.6 * impact) + (0.4 * exploitability) - 1.5) * factor, 1)


def base_score(kind: str, vector: str) -> float | None:
    """The base score of an OSV `severity` entry (`CVSS_V3` or `CVSS_V2`), None otherwise."""
    if kind == "CVSS_V3" and vector.startswith("CVSS:3"):
        return v3_base_score(vector)
    if kind == "CVSS_V2":
        return v2_base_score(vector)
    return None


def rating(score: float) -> str:
    if score >= 9.0:
        return "CRITICAL"
    if score >= 7.0:
        return "HIGH"
    if score >= 4.0:
        return "MEDIUM"
    if score > 0:
        return "LOW"
    return "INFORMATIONAL"
