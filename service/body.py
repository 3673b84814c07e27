"""Request bodies: their headers checked, kept up to a limit, gunzipped, counted.

Everything here is bounded by the size limit, never by what the client
claims or by how far its data expands.
"""

import json
import re
import zlib

from .validation import EXACT_DECODER, parse_json

_DIGITS = re.compile(r"[0-9]+")
_SPACE = re.compile(r"[ \t\n\r]*")
_decoder = json.JSONDecoder()  # has_more_items(): any number will do for counting


def framing_problem(headers):
    """What is wrong with how the request says its body ends, or None.

    Checked before Tornado reads the body, which would answer these with a
    bare 400 of its own (and log the header's value).
    """
    length, transfer = headers.get("Content-Length"), headers.get("Transfer-Encoding")
    if length is not None and transfer is not None:
        return "Content-Length and Transfer-Encoding must not both be sent."
    if transfer is not None and transfer.lower() != "chunked":
        return "The only Transfer-Encoding accepted is chunked."
    if length is not None and not _DIGITS.fullmatch(length):
        return "Content-Length must be a non-negative integer."
    return None


def announces_body(headers):
    return "Transfer-Encoding" in headers or int(headers.get("Content-Length", "0")) > 0


def media_type(header):
    """(type, charset) of a Content-Type header, both lower-cased; charset None when absent."""
    kind, *params = (header or "").split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    return kind.strip().lower(), charset


class BodyBuffer:
    """A body kept while it stays within limit bytes (after gunzip when gzipped).

    Past the limit its data is dropped and only `over` is left: the answer
    is a 413 whatever follows. A gzip bomb is inflated at most one byte past
    the limit.
    """

    def __init__(self, limit, gzipped):
        self.limit = limit
        self.size = 0
        self.over = False
        self.error = None
        self.chunks = []
        self.inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None

    def add(self, data):
        if self.over or self.error:
            return
        if self.inflater is None:
            self._keep(data)
            return
        try:
            while data and not self.over:
                self._keep(self.inflater.decompress(data, self.limit - self.size + 1))
                data = self.inflater.unconsumed_tail
        except zlib.error:
            self.error, self.chunks = "The request body is not valid gzip.", []

    def _keep(self, data):
        self.size += len(data)
        if self.size > self.limit:
            self.over, self.chunks = True, []
        else:
            self.chunks.append(data)

    def take(self):
        """The whole body as bytes; ValueError if it was gzip and broken or cut short."""
        if self.inflater is not None and not self.error and not self.inflater.eof:
            self.error = "The request body is not valid gzip: it ends too soon."
        if self.error:
            raise ValueError(self.error)
        data, self.chunks = b"".join(self.chunks), []
        return data


class TooManyItems(Exception):
    """A batch's array holds more items than the limit: decoding stopped there."""


def parse_batch(text, name, limit):
    """The JSON text, parsed as parse_json() parses it; TooManyItems when its `name` array holds
    more than limit items, as has_more_items() would say before parsing.

    The object's values are decoded one at a time, and its `name` array item by item, so the
    items are counted in the parse itself, not in a pass of their own. Any body this walk cannot
    parse goes the way it always went: has_more_items(), then parse_json(), whose error says why.
    """
    try:
        return _walk_object(text, name, limit, EXACT_DECODER)
    # ArithmeticError: Decimal refuses an exponent as large as 1e99999999999999999999
    except (ValueError, IndexError, RecursionError, ArithmeticError):
        pass
    if has_more_items(text, name, limit):
        raise TooManyItems
    return parse_json(text)


def has_more_items(text, name, limit):
    """Whether the `name` array of the JSON object text holds more than limit items.

    Items are decoded one at a time, and counting stops past the limit: ten
    megabytes of `{},` are refused without building millions of objects. Any
    other key's value is decoded whole, as json.loads would. A body that is
    not such an object answers False: json.loads says why.
    """
    if text.count(",") < limit:  # n items need n - 1 commas
        return False
    try:
        _walk_object(text, name, limit, _decoder)
    except TooManyItems:
        return True
    except (ValueError, IndexError):
        pass
    return False


def _walk_object(text, name, limit, decoder):
    """The JSON object text, its values decoded with decoder; TooManyItems as soon as a `name`
    array shows more than limit items, whatever follows. ValueError or IndexError for text that
    is not one JSON object, as json.loads would refuse it (its message is not this one's)."""
    body = {}
    pos = _after(text, 0, "{")
    while text[pos] == '"':
        key, pos = json.decoder.scanstring(text, pos + 1)
        pos = _after(text, pos, ":")
        if key == name and text[pos] == "[":
            body[key], pos = _walk_items(text, pos, limit, decoder)
        else:
            body[key], pos = decoder.raw_decode(text, pos)
        pos = _SPACE.match(text, pos).end()
        if text[pos] != ",":
            break
        pos = _SPACE.match(text, pos + 1).end()
        if text[pos] != '"':
            raise ValueError("expected a key")
    if text[pos] != "}" or _SPACE.match(text, pos + 1).end() != len(text):
        raise ValueError("expected the object's end")
    return body


def _after(text, pos, char):
    """The position after char and the spaces around it, which must come at pos."""
    pos = _SPACE.match(text, pos).end()
    if text[pos] != char:
        raise ValueError(f"expected {char}")
    return _SPACE.match(text, pos + 1).end()


def _walk_items(text, pos, limit, decoder):
    """(the items of the array at pos, the position after it); TooManyItems once it has shown
    more than limit items."""
    items = []
    pos = _after(text, pos, "[")
    if text[pos] == "]":
        return items, pos + 1
    while True:
        item, pos = decoder.raw_decode(text, pos)
        items.append(item)
        if len(items) > limit:
            raise TooManyItems
        pos = _SPACE.match(text, pos).end()
        if text[pos] == "]":
            return items, pos + 1
        pos = _after(text, pos, ",")
