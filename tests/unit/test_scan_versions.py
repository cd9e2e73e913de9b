"""Version ordering per ecosystem (dpkg, apk, PEP 440) and CVSS base scores, table-driven."""

from __future__ import annotations

import pytest

from dockyard.registry.scanning.cvss import rating, v2_base_score, v3_base_score
from dockyard.registry.scanning.versions import InvalidVersion, apk_compare, compare, dpkg_compare, family

DPKG = [
    ("1.0", "1.0", 0),
    ("1.0", "1.1", -1),
    ("1.10", "1.9", 1),
    ("1:1.0", "2.0", 1),  # epoch wins
    ("1.0-1", "1.0-2", -1),
    ("1.0~rc1", "1.0", -1),  # tilde sorts before the end
    ("1.0~rc1", "1.0~rc2", -1),
    ("1.0~~", "1.0~", -1),
    ("1.0a", "1.0", 1),
    ("1.0+b1", "1.0", 1),
    ("1.0.1", "1.0a", 1),  # '.' (non-letter) sorts after letters
    ("2.36-9+deb12u4", "2.36-9+deb12u3", 1),
    ("3.0.11-1~deb12u2", "3.0.11-1", -1),
    ("1.001", "1.1", 0),  # numbers compare numerically
    ("0", "1.0", -1),
    ("1.0", "1.0-0", 0),
]


@pytest.mark.parametrize(("a", "b", "expected"), DPKG)
def test_dpkg_ordering(a: str, b: str, expected: int) -> None:
    assert dpkg_compare(a, b) == expected
    assert dpkg_compare(b, a) == -expected


APK = [
    ("1.0", "1.0", 0),
    ("1.0", "1.1", -1),
    ("1.10", "1.9", 1),
    ("1.0", "1", 1),
    ("1.0-r1", "1.0-r0", 1),
    ("1.0-r10", "1.0-r9", 1),
    ("1.2_rc1", "1.2", -1),  # pre-release suffix
    ("1.2_alpha1", "1.2_beta1", -1),
    ("1.2_p1", "1.2", 1),  # post-release suffix
    ("1.0a", "1.0", 1),
    ("1.0a", "1.0b", -1),
    ("3.3.2-r0", "3.1.4-r5", 1),
    ("1.01", "1.1", -1),  # a leading zero after a dot is a fraction
    ("1.0.05", "1.0.4", -1),
    ("1.00", "1.0", -1),
    ("05.1", "5.1", 0),
    ("2.4.49-r0", "2.4.49_git20210101-r0", -1),
    ("1.36.1-r2", "1.36.1-r15", -1),
]


@pytest.mark.parametrize(("a", "b", "expected"), APK)
def test_apk_ordering(a: str, b: str, expected: int) -> None:
    assert apk_compare(a, b) == expected
    assert apk_compare(b, a) == -expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [("1.0", "1.0.0", 0), ("2.0rc1", "2.0", -1), ("1.0.post1", "1.0", 1), ("2.31.0", "2.4.0", 1)],
)
def test_pep440_ordering(a: str, b: str, expected: int) -> None:
    assert compare("PyPI", a, b) == expected


def test_ecosystem_families_and_invalid_versions() -> None:
    assert [family(e) for e in ("Debian:12", "Ubuntu:22.04:LTS", "Alpine:v3.20", "PyPI", "npm")] == [
        "dpkg",
        "dpkg",
        "apk",
        "pep440",
        "",
    ]
    with pytest.raises(InvalidVersion):
        compare("PyPI", "not a version", "1.0")
    with pytest.raises(InvalidVersion):
        compare("npm", "1.0", "1.0")
    with pytest.raises(InvalidVersion):
        compare("Debian", "x:1.0", "1.0")


@pytest.mark.parametrize(
    ("vector", "score", "severity"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0, "CRITICAL"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM"),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8, "HIGH"),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:L/I:N/A:N", 3.7, "LOW"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, "INFORMATIONAL"),
    ],
)
def test_cvss3_base_scores(vector: str, score: float, severity: str) -> None:
    assert v3_base_score(vector) == score
    assert rating(score) == severity


def test_cvss2_base_scores() -> None:
    assert v2_base_score("AV:N/AC:L/Au:N/C:P/I:P/A:P") == 7.5
    assert v2_base_score("AV:N/AC:M/Au:N/C:N/I:P/A:N") == 4.3
    assert v2_base_score("nonsense") is None
    assert v3_base_score("CVSS:3.1/AV:X") is None
