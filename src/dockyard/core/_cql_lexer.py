"""Tokens of the cluster query language (the lexer behind `dockyard.core.cql`).

Token kinds: `(` `)` `[` `]` `,`, `OP` (== != >= <= > < =~ !~ && || !), `WORD` (a bare word:
subjects, keywords, unquoted values such as `t2.*` or `2018-06-18T22:28:28+00:00`), `STRING`
(a single- or double-quoted value; `\\'` inside '...' is a quote, other backslashes stay) and `END`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CQLError", "Token", "tokenize", "OPERATOR_WORDS"]


class CQLError(ValueError):
    """A cluster query language expression that cannot be parsed or is not valid."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    pos: int


OPERATOR_WORDS = {
    "equals": "==",
    "not_equals": "!=",
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
    "exists": "exists",
    "not_exists": "!exists",
    "in": "in",
    "not_in": "!in",
    "matches": "=~",
    "not_matches": "!~",
}

_SYMBOLS = ("==", "!=", ">=", "<=", "=~", "!~", "&&", "||", ">", "<", "!")
_PUNCTUATION = "()[],"
_NOT_IN_WORDS = frozenset(" \t\r\n()[],'\"=!<>&|~")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in _PUNCTUATION:
            tokens.append(Token(char, char, i))
            i += 1
            continue
        if char in "'\"":
            value, end = _quoted(text, i)
            tokens.append(Token("STRING", value, i))
            i = end
            continue
        symbol = next((s for s in _SYMBOLS if text.startswith(s, i)), None)
        if symbol is not None:
            tokens.append(Token("OP", symbol, i))
            i += len(symbol)
            continue
        start = i
        while i < n and text[i] not in _NOT_IN_WORDS and not text[i].isspace():
            i += 1
        if i == start:
            raise CQLError(f"Unexpected character '{char}' at position {i + 1} of the expression.")
        tokens.append(Token("WORD", text[start:i], start))
    tokens.append(Token("END", "", n))
    return tokens


def _quoted(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1] == quote:
            out.append(quote)
            i += 2
            continue
        if char == quote:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise CQLError(f"The quoted value starting at position {start + 1} of the expression is not closed.")
