"""Request parsers: DRF's, with every way a body can fail to parse answered as a 400."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """A document nested deeper than Python's recursion limit (`[[[[…]]]]` 100,000 deep) makes the decoder
    raise RecursionError, which is no ValueError: DRF would let it through as a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
