"""JSON by orjson: the bytes DRF's JSONRenderer writes, about ten times faster.

DRF's renderer (the stdlib's `json` with DRF's encoder) was 2-3 % of a list's cost before the list's rows
were rendered from `.values()` (waldur_do/api/rows.py); after, it is a noticeable share. This one writes the
same bytes for what the API answers: compact separators, UTF-8 without `\\u` escapes, U+2028 and U+2029
escaped as DRF does, and every type orjson does not know natively (Decimal, datetime, lazy strings, …)
converted by DRF's own encoder; what orjson refuses (an integer beyond 64 bits) goes to DRF's renderer. Two
differences, both the same JSON value: a float below 1e-4 is written `0.00001` instead of `1e-05`, and a
float that is not finite is written `null` where DRF raises an error. A client that asks for indentation
(`Accept: application/json; indent=4`, the browsable API) gets DRF's renderer.
"""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_encoder = JSONEncoder()
# DRF's encoder writes datetimes as isoformat() with `Z` for UTC; orjson's native form differs.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


class OrjsonRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_encoder.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        # Valid JSON, but not valid JavaScript in a <script>: DRF escapes them, so do we.
        if _LINE_SEPARATOR in body:
            body = body.replace(_LINE_SEPARATOR, b"\\u2028")
        if _PARAGRAPH_SEPARATOR in body:
            body = body.replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
        return body
