"""Percent-decoding of the URL text bound to request fields, with Envoy's defaults.

- Path variables: `url_unescape_spec: ALL_CHARACTERS_EXCEPT_RESERVED`, so `%XX` decodes
  unless it encodes an RFC 6570 reserved character (`%2F` stays `%2F` in the value).
- Query values: every `%XX` decodes; `+` stays `+` (`query_param_unescape_plus: false`).
- Query parameter names are used as written, not decoded.

The decoded bytes must be UTF-8, since they become string fields (or base64 text).
"""

from __future__ import annotations

import re

# RFC 6570 reserved: gen-delims and sub-delims.
_RESERVED = frozenset(b":/?#[]@!$&'()*+,;=")
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")


class UnescapeError(ValueError):
    """The decoded text is not UTF-8."""


def _unescape(text: str, keep_reserved: bool) -> str:
    def decode(match: re.Match[bytes]) -> bytes:
        byte = int(match.group(1), 16)
        if keep_reserved and byte in _RESERVED:
            return match.group()
        return bytes([byte])

    raw = _ESCAPE.sub(decode, text.encode("utf-8", "surrogateescape"))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UnescapeError(f"{text!r} does not decode to UTF-8 text") from error


def unescape_path_value(text: str) -> str:
    return _unescape(text, keep_reserved=True)


def unescape_query_value(text: str) -> str:
    return _unescape(text, keep_reserved=False)


def query_parameters(query: str) -> list[tuple[str, str]]:
    """The `name=value` pairs of a raw query string, in order, values decoded.

    As Envoy's transcoder: a parameter without `=` (or with an empty name) binds nothing.
    """
    pairs = []
    for parameter in query.split("&"):
        name, separator, value = parameter.partition("=")
        if separator and name:
            pairs.append((name, unescape_query_value(value)))
    return pairs
