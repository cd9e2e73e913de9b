"""Version ordering per package ecosystem: Debian (dpkg), Alpine (apk) and PyPI (PEP 440).

`compare(ecosystem, a, b)` answers -1, 0 or 1, or raises `InvalidVersion` when a version cannot be
read in that ecosystem (the matcher then skips the range instead of guessing).

- dpkg: `[epoch:]upstream[-revision]`; each part is compared as alternating runs of non-digits
  (letters before non-letters, `~` before everything, even the end) and numbers (numerically), as
  `dpkg --compare-versions` does.
- apk: a port of apk-tools' tokenizer (`1.2.3a_rc1_p2-r4`): numbers, one letter, suffixes
  (`_alpha` `_beta` `_pre` `_rc` sort before the release, `_cvs` `_svn` `_git` `_hg` `_p` after),
  then the `-r` revision; a component after a dot that starts with zeros first
  compares its zeros as a negative number (apk-tools 2.x `get_token`).
- PyPI: `packaging.version.Version` (PEP 440).
"""

from __future__ import annotations

from packaging.version import InvalidVersion as _PackagingInvalid
from packaging.version import Version

__all__ = ["InvalidVersion", "apk_compare", "compare", "dpkg_compare", "family", "pep440_compare"]


class InvalidVersion(ValueError):
    pass


def family(ecosystem: str) -> str:
    """The ordering an OSV ecosystem uses: "dpkg", "apk", "pep440" or "" (not supported)."""
    base = ecosystem.split(":", 1)[0]
    if base in ("Debian", "Ubuntu"):
        return "dpkg"
    if base == "Alpine":
        return "apk"
    if base == "PyPI":
        return "pep440"
    return ""


def compare(ecosystem: str, a: str, b: str) -> int:
    kind = family(ecosystem)
    if kind == "dpkg":
        return dpkg_compare(a, b)
    if kind == "apk":
        return apk_compare(a, b)
    if kind == "pep440":
        return pep440_compare(a, b)
    raise InvalidVersion(f"no version ordering for ecosystem {ecosystem!r}")


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


# -- dpkg ------------------------------------------------------------------------------------------


def _dpkg_parts(version: str) -> tuple[int, str, str]:
    version = version.strip()
    epoch = 0
    if ":" in version:
        head, version = version.split(":", 1)
        if not head.isdigit():
            raise InvalidVersion(f"epoch in {head}:{version!r} is not a number")
        epoch = int(head)
    upstream, _, revision = version.rpartition("-") if "-" in version else (version, "", "")
    if not upstream:
        raise InvalidVersion(f"version {version!r} has no upstream part")
    return epoch, upstream, revision


def _order(c: str) -> int:
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return _sign(ac - bc)
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return _sign(first_diff)
    return 0


def dpkg_compare(a: str, b: str) -> int:
    ea, ua, ra = _dpkg_parts(a)
    eb, ub, rb = _dpkg_parts(b)
    if ea != eb:
        return _sign(ea - eb)
    return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)


# -- apk -------------------------------------------------------------------------------------------

_INVALID, _DIGIT_OR_ZERO, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _REVISION_NO, _END = range(-1, 7)
_PRE = ("alpha", "beta", "pre", "rc")
_POST = ("cvs", "svn", "git", "hg", "p")


class _ApkReader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.type = _DIGIT

    def _next_type(self) -> None:
        text, pos, kind = self.text, self.pos, self.type
        if pos >= len(text):
            n = _END
        elif kind in (_DIGIT, _DIGIT_OR_ZERO) and text[pos].islower():
            n = _LETTER
        elif kind == _LETTER and text[pos].isdigit():
            n = _DIGIT
        elif kind == _SUFFIX and text[pos].isdigit():
            n = _SUFFIX_NO
        else:
            c = text[pos]
            n = _INVALID
            if c == ".":
                n = _DIGIT_OR_ZERO
            elif c == "_":
                n = _SUFFIX
            elif c == "-" and text[pos + 1 : pos + 2] == "r":
                n = _REVISION_NO
                self.pos += 1
            self.pos += 1
        allowed = (
            (n == _DIGIT_OR_ZERO and kind == _DIGIT)
            or (n == _SUFFIX and kind == _SUFFIX_NO)
            or (n == _DIGIT and kind == _LETTER)
        )
        if n < kind and not allowed:
            n = _INVALID
        self.type = n

    def token(self) -> int:
        text, pos = self.text, self.pos
        if pos >= len(text):
            self.type = _END
            return 0
        value = 0
        i = pos
        then = _INVALID
        kind = self.type
        if kind == _DIGIT_OR_ZERO and text[i] == "0":
            while i < len(text) and text[i] == "0":
                i += 1
            value = -(i - pos)
            then = _DIGIT
        elif kind in (_DIGIT_OR_ZERO, _DIGIT, _SUFFIX_NO, _REVISION_NO):
            while i < len(text) and text[i].isdigit():
                value = value * 10 + int(text[i])
                i += 1
        elif kind == _LETTER:
            value = ord(text[i])
            i += 1
        elif kind == _SUFFIX:
            rest = text[pos:]
            pre = next((n for n, s in enumerate(_PRE) if rest.startswith(s)), None)
            post = next((n for n, s in enumerate(_POST) if rest.startswith(s)), None)
            if pre is not None:
                value = pre - len(_PRE)
                i += len(_PRE[pre])
            elif post is not None:
                value = post
                i += len(_POST[post])
            else:
                self.type = _INVALID
                return -1
        else:
            self.type = _INVALID
            return -1
        self.pos = i
        if self.pos >= len(text):
            self.type = _END
        elif then != _INVALID:
            self.type = then
        else:
            self._next_type()
        return value


def apk_compare(a: str, b: str) -> int:
    if not a[:1].isdigit() or not b[:1].isdigit():
        raise InvalidVersion(f"apk versions start with a digit: {a!r}, {b!r}")
    ra, rb = _ApkReader(a), _ApkReader(b)
    av = bv = 0
    while ra.type == rb.type and ra.type not in (_END, _INVALID) and av == bv:
        av = ra.token()
        bv = rb.token()
    if av != bv:
        return _sign(av - bv)
    if ra.type == _INVALID or rb.type == _INVALID:
        if ra.type == rb.type:
            return 0
        raise InvalidVersion(f"not an apk version: {a if ra.type == _INVALID else b!r}")
    at, bt = ra.type, rb.type
    if at == bt:
        return 0
    if at == _SUFFIX and ra.token() < 0:
        return -1
    if bt == _SUFFIX and rb.token() < 0:
        return 1
    return 1 if at < bt else -1


# -- PyPI ------------------------------------------------------------------------------------------


def pep440_compare(a: str, b: str) -> int:
    try:
        va, vb = Version(a), Version(b)
    except _PackagingInvalid as exc:
        raise InvalidVersion(str(exc)) from exc
    return (va > vb) - (va < vb)
