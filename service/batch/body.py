"""Request bodies: their headers checked, kept up to a limit, gunzipped, counted.

Everything here is bounded by the size limit, never by what the client
claims or by how far its data expands.
"""

import functools
import json
import re
import zlib
from decimal import Decimal
from typing import Any, TypedDict

import msgspec

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


def is_utf8(data):
    """Whether bytes are UTF-8: checked by decoding them unless they are ASCII, as most bodies are
    (a test of a few microseconds a megabyte); the text is not kept, parse_batch reads the bytes."""
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class TooManyItems(Exception):
    """A batch's array holds more items than the limit: decoding stopped there."""


def parse_batch(body, entity, limit):
    """The JSON body (text, or its UTF-8 bytes), parsed as parse_json() parses it, but for the
    fields of the entity's records that the service does not read, which may be left out;
    TooManyItems when its `entity.name` array holds more than limit items, as has_more_items()
    would say before parsing.

    The plugin's body, {"<name>": [records]} and nothing else, is read at once by msgspec
    (_records_at_once), from the bytes as they came when given those. Any other is walked: the
    object's values are decoded one at a time, and its `name` array item by item, so the items
    are counted in the parse itself, not in a pass of their own. Any body this walk cannot parse
    goes the way it always went: has_more_items(), then parse_json(), whose error says why.
    """
    name = entity.name
    records = _records_at_once(body, entity)
    if records is not None:
        if len(records) > limit:
            raise TooManyItems
        return {name: records}
    text = body if type(body) is str else body.decode("utf-8")
    try:
        return _walk_object(text, name, limit, EXACT_DECODER)
    # ArithmeticError: Decimal refuses an exponent as large as 1e99999999999999999999
    except (ValueError, IndexError, RecursionError, ArithmeticError):
        pass
    if has_more_items(text, name, limit):
        raise TooManyItems
    return parse_json(text)


# msgspec reads JSON about 3x faster than json's decoder, and keeps amounts exact: each number
# with a fraction or an exponent goes to float_hook as the text it was sent as, as json's
# parse_float. Where the two differ (a lone surrogate escape, which msgspec refuses), msgspec
# raises and the walk below reads the body.
_FAST_DECODER = msgspec.json.Decoder(float_hook=Decimal)
# The values a body read at once may hold: at most its commas + 1, plus one per nesting level,
# and fewer than half its characters. It is built whole before its records are counted, so this
# bounds what a flood of tiny records can cost (some 50 MB of Python objects) before the 413; a
# 1,000-product batch holds about 40,000 values, a 5,000-product one about 200,000.
FAST_PARSE_VALUES = 500_000
# json's decoder counts nesting against the recursion limit from under three frames of its own
# (loads, decode, raw_decode), and a body's object is one level more than its array: called from
# this many frames deeper, msgspec reaches the limit no later than parse_json() would on the body.
_FAST_PARSE_FRAMES = 6


@functools.cache
def _records_decoder(name, fields):
    """A decoder of a JSON array of objects that keeps only the given fields of each, decoded as
    _FAST_DECODER decodes; any other field is checked to be well-formed JSON and skipped, never
    built (two thirds of a WooCommerce customer, more of a product). An item that is not an
    object fails it."""
    record = TypedDict(f"{name}_record", dict.fromkeys(fields, Any), total=False)
    return msgspec.json.Decoder(list[record], float_hook=Decimal)


def _records_at_once(body, entity):
    """The records of a body (text, or UTF-8 bytes) that is {"<name>": [...]} and nothing else
    (no other key, the key written without escapes), read by msgspec: each record with only the
    fields the service reads when every item is an object, else whole. None for any other body,
    or one msgspec refuses.

    Bytes are read where they lie (a view of the array, not a copy), and msgspec reads them as
    they are: a text of other than ASCII it would first write out as UTF-8 again. It checks only
    the strings it builds to be UTF-8: the caller has checked the body.

    The text between the key's colon and the closing brace must then be one JSON value: no
    second key can hide in it, so the result is what parse_json() gives, duplicate keys and all,
    less the fields left out. (Their values are not decoded: a number parse_json() refuses there,
    an integer of over 4,300 digits or an exponent Decimal refuses, no longer fails the body.)
    """
    is_text = type(body) is str
    blank, brace, comma = (" \t\n\r", "}", ",") if is_text else (b" \t\n\r", b"}", b",")
    start = _batch_key(entity.name, is_text).match(body)
    if start is None:
        return None
    end = len(body.rstrip(blank))
    if body[end - 1 : end] != brace:
        return None
    if len(body) >= 2 * FAST_PARSE_VALUES and body.count(comma) >= FAST_PARSE_VALUES:
        return None  # counted only if it could be
    array = (body if is_text else memoryview(body))[start.end() : end - 1]
    for decoder in (_records_decoder(entity.name, entity.fields_read), _FAST_DECODER):
        try:
            records = _deeper(_FAST_PARSE_FRAMES, decoder.decode, array)
        # ArithmeticError: Decimal refuses an exponent as large as 1e99999999999999999999
        except (msgspec.DecodeError, RecursionError, ArithmeticError):
            continue
        return records if type(records) is list else None
    return None


@functools.cache
def _batch_key(name, is_text):
    """The pattern of `{"<name>":` at a body's start, for a text or for bytes."""
    pattern = r'[ \t\n\r]*\{[ \t\n\r]*"' + re.escape(name) + r'"[ \t\n\r]*:'
    return re.compile(pattern if is_text else pattern.encode())


def _deeper(frames, function, argument):
    """function(argument), called from frames more Python frames down the stack."""
    return _deeper(frames - 1, function, argument) if frames else function(argument)


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
