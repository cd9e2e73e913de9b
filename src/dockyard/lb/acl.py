"""Rule conditions as HAProxy anonymous ACLs, and quoting for HAProxy's configuration language.

| condition             | HAProxy                                            | case        |
|-----------------------|----------------------------------------------------|-------------|
| `path-pattern`        | `path -m str` / `-m reg ^...$` (query not included)| sensitive   |
| `host-header`         | `req.hdr(host),field(1,:),lower` (port stripped)   | insensitive |
| `http-header`         | `req.fhdr(<name>) -i` (commas kept in the value)   | insensitive |
| `query-string`        | `query -i -m reg (^|&)key=value(&|$)`              | insensitive |
| `http-request-method` | `method -m str`                                    | sensitive   |
| `source-ip`           | `src <cidr>...` (the peer, never X-Forwarded-For)  |             |

Wildcards: `*` is any run of characters (within one pair for query strings), `?` exactly one;
every other character is literal (`\\` escapes one in query strings). A condition lists values
that may match (OR); a rule lists conditions that must all match (AND).
"""

from __future__ import annotations

from dockyard.lb.rules import Condition

__all__ = ["quote", "literal", "wildcard_regex", "condition_acl"]

_REGEX_SPECIAL = set(".^$*+?()[]{}|\\")


def _clean(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())


def quote(text: str) -> str:
    """A double-quoted configuration word: backslash, double quote and `$` escaped."""
    escaped = _clean(text).replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{escaped}"'


def literal(text: str) -> str:
    """`text` as a literal inside a log-format string (`%` doubled); quote the result."""
    return text.replace("%", "%%")


def _escape(ch: str) -> str:
    return "\\" + ch if ch in _REGEX_SPECIAL else ch


def wildcard_regex(pattern: str, *, any_run: str = ".*", one: str = ".", escapes: bool = False) -> str:
    """`pattern` with `*` and `?` wildcards as an anchored regular expression."""
    return "^" + _wildcards(pattern, any_run=any_run, one=one, escapes=escapes) + "$"


def _wildcards(pattern: str, *, any_run: str, one: str, escapes: bool) -> str:
    out: list[str] = []
    chars = iter(pattern)
    for ch in chars:
        if escapes and ch == "\\":
            out.append(_escape(next(chars, "\\")))
        elif ch == "*":
            out.append(any_run)
        elif ch == "?":
            out.append(one)
        else:
            out.append(_escape(ch))
    return "".join(out)


def _has_wildcards(values: tuple[str, ...]) -> bool:
    return any("*" in v or "?" in v for v in values)


def _match(fetch: str, values: tuple[str, ...], *, regex: bool, ignore_case: bool = False) -> str:
    flags = " -i" if ignore_case else ""
    if regex:
        return f"{{ {fetch}{flags} -m reg {' '.join(quote(v) for v in values)} }}"
    if _has_wildcards(values):
        patterns = " ".join(quote(wildcard_regex(v)) for v in values)
        return f"{{ {fetch}{flags} -m reg {patterns} }}"
    return f"{{ {fetch}{flags} -m str {' '.join(quote(v) for v in values)} }}"


def _query(pairs: tuple[tuple[str | None, str], ...]) -> str:
    patterns = []
    for key, value in pairs:
        v = _wildcards(value, any_run="[^&]*", one="[^&]", escapes=True)
        k = "[^&=]*=" if key is None else _wildcards(key, any_run="[^&=]*", one="[^&=]", escapes=True) + "="
        patterns.append(quote(f"(^|&)({k}){'?' if key is None else ''}{v}(&|$)"))
    return f"{{ query -i -m reg {' '.join(patterns)} }}"


def condition_acl(condition: Condition) -> str | None:
    """The anonymous ACL for one condition; None for a condition without values (never matches)."""
    c = condition
    if c.field == "query-string":
        return _query(c.pairs) if c.pairs else None
    if not c.values:
        return None
    if c.field == "path-pattern":
        return _match("path", c.values, regex=c.regex)
    if c.field == "host-header":
        values = c.values if c.regex else tuple(v.lower() for v in c.values)
        return _match("req.hdr(host),field(1,:),lower", values, regex=c.regex)
    if c.field == "http-header" and c.header:
        return _match(f"req.fhdr({c.header})", c.values, regex=c.regex, ignore_case=True)
    if c.field == "http-request-method":
        return f"{{ method -m str {' '.join(quote(v) for v in c.values)} }}"
    if c.field == "source-ip":
        return f"{{ src {' '.join(quote(v) for v in c.values)} }}"
    return None
