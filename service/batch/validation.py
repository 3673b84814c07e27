"""One validation path for every entity.

Each record of a batch is projected onto its entity's fields (WooCommerce
aliases resolved, unknown fields dropped), checked with the entity's Cerberus
schema and serialised for PostgreSQL. A record that fails any step is
skipped with its reason; the batch goes on.
"""

import asyncio
import json
from dataclasses import dataclass
from decimal import Decimal

import orjson

from .compiled_validator import CompiledValidator


def reject_constant(name):
    """json's parse_constant: NaN and Infinity, which JSON does not have, are refused."""
    raise ValueError(f"{name} is not valid JSON")


def parse_json(raw):
    """A request body's JSON. Numbers with a fraction or an exponent become Decimals, so that
    amounts stay exact; NaN and Infinity, which JSON does not have, are refused (ValueError)."""
    return json.loads(raw, parse_constant=reject_constant, parse_float=Decimal)


# parse_json()'s decoder, for decoding a body one value at a time (body.parse_batch).
EXACT_DECODER = json.JSONDecoder(parse_constant=reject_constant, parse_float=Decimal)


@dataclass
class ValidatedBatch:
    records_json: bytes  # JSON array of the valid records in UTF-8, for the SQL function (set last)
    indexes: list  # the batch index of each valid record, in the same order
    errors: list  # one {index, id, reason} per skipped record


class RecordValidator(CompiledValidator):
    """Cerberus' Validator without its one mandatory rule, 'nullable'.

    project() has already dropped every null, so the rule could only ever
    pass; skipping it saves about 15% of the validation time of a batch.
    """

    mandatory_validations = ()


_validators = {}


def validator_for(entity):
    """One compiled validator per entity, reused for every record."""
    if entity.name not in _validators:
        _validators[entity.name] = RecordValidator(entity.schema)
    return _validators[entity.name]


def project(record, entity):
    """The entity's fields of record, each from its WooCommerce alias when absent.

    A null counts as absent. Unknown fields are dropped here, so that nothing
    the service does not store is ever passed on.
    """
    doc = {}
    get = record.get
    for name, alias in entity.sources:
        value = get(name)
        if value is None and alias is not None:
            value = get(alias) if type(alias) is str else at_path(record, alias)
        if value is not None:
            doc[name] = value
    return doc


def at_path(record, keys):
    """record's value at a path of keys into nested objects (("billing", "email")), or None."""
    value = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def project_items(doc, entity):
    """doc with each of its record lists' items reduced to their fields, nulls dropped: run once
    the record is valid (so every item is an object), like project() for the record itself."""
    for name, item_schema in entity.record_lists.items():
        if name in doc:
            doc[name] = [
                {field: item[field] for field in item_schema if item.get(field) is not None} for item in doc[name]
            ]
    return doc


def reported_id(value):
    """The id to report a skipped record by: what was sent, if a short scalar."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) <= 40:
        return value
    return None


def describe(errors):
    """Cerberus' errors as one line: 'name: required field; price: must be ...'."""
    return "; ".join(f"{field}: {messages[0]}" for field, messages in sorted(errors.items()))


def _may_hold_nul(json_text):
    """Whether JSON text (str or bytes) has a NUL's escape. A search for its backslash first: one
    character is looked for at memchr's speed, and most batches have no escape at all."""
    backslash, escape = ("\\", "\\u0000") if type(json_text) is str else (b"\\", b"\\u0000")
    return backslash in json_text and escape in json_text


def _holds_nul(value):
    """Whether any string in value, keys included, holds a NUL (iterative: any depth)."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def serialise(doc, record_lists=()):
    """(json_text, None), or (None, reason) for text PostgreSQL cannot hold.

    A Decimal field (an amount the checks have bounded) is written as the
    exact JSON number it was sent as, which json.dumps cannot do; so is one
    in an item of a record list (a line item's price), whose fields are
    checked and projected like the record's. A Decimal elsewhere (in a
    category item) is never read by the SQL functions: it goes as a float,
    so that 1e400 (inf) is refused instead of overflowing PostgreSQL's numeric.
    """
    try:
        text = _exact_json(doc, record_lists)
    except ValueError:
        return None, "number: must be finite"
    if _may_hold_nul(text) and _holds_nul(doc):
        return None, "text: must not contain NUL characters"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, from a \ud800-style escape
            return None, "text: must be valid Unicode"
    return text, None


# json.dumps with these arguments, without building an encoder per record.
_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=float)


def _exact_number(value):
    """A Decimal as the JSON number text it was sent as (str() of a finite Decimal is one), for
    orjson to write as it is; anything else unchanged."""
    return orjson.Fragment(str(value)) if type(value) is Decimal and value.is_finite() else value


def _with_exact_numbers(doc, record_lists):
    """doc with its Decimal fields, and those of its record_lists' items, as orjson Fragments."""
    exact = {
        name: [{field: _exact_number(v) for field, v in item.items()} for item in value]
        if name in record_lists
        else _exact_number(value)
        for name, value in doc.items()
        if type(value) is Decimal or name in record_lists
    }
    return {**doc, **exact} if exact else doc


def _orjson_text(value):
    """_orjson_json(value) as text."""
    data = _orjson_json(value)
    return None if data is None else data.decode()


def _orjson_json(value):
    """value as compact JSON (UTF-8) by orjson, several times faster than _ENCODER; None where
    orjson would not write what _ENCODER writes.

    Its text differs only in how a float is spelt (1e-05 as 0.00001: the same number, of the
    same scale in PostgreSQL); floats come only from Python callers, a body's numbers being
    Decimals and ints. None for what orjson refuses (a Decimal, an int past 64 bits, a lone
    surrogate, deep nesting) and for text holding null, which may be a NaN or infinite float
    that orjson writes as null where _ENCODER refuses it.
    """
    try:
        data = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None
    return None if b"null" in data else data


def _exact_json(doc, record_lists=()):
    """doc as compact JSON, its Decimal fields and the items of its record_lists written exactly."""
    text = _orjson_text(doc)  # no Decimal anywhere (the common case): nothing to write exactly
    if text is None:  # the exact ones as the text they were sent as, if there is no other Decimal
        text = _orjson_text(_with_exact_numbers(doc, record_lists))
    if text is not None:
        return text
    exact = [name for name, value in doc.items() if type(value) is Decimal or name in record_lists]
    if not exact:
        return _ENCODER.encode(doc)
    text = _exact_json({name: value for name, value in doc.items() if name not in exact})
    # field names are the schema's own: nothing to escape
    parts = [
        f'"{name}":'
        + (
            str(doc[name])
            if type(doc[name]) is Decimal
            else "[" + ",".join(_exact_json(item) for item in doc[name]) + "]"
        )
        for name in exact
    ]
    return text[:-1] + ("," if len(text) > 2 else "") + ",".join(parts) + "}"


def merge_errors(batch, sql_errors):
    """Every skipped record of the batch, in batch order.

    The SQL function numbers only the records it was sent (batch.indexes maps
    them back); it skips nothing the HTTP layer passed unless the two layers'
    rules have drifted apart, which the property tests guard against.
    """
    mapped = [{**error, "index": batch.indexes[error["index"]]} for error in sql_errors]
    return sorted(batch.errors + mapped, key=lambda error: error["index"])


def validate_batch(entity, records):
    validator = validator_for(entity)
    batch, docs = ValidatedBatch(None, [], []), []
    for index, record in enumerate(records):
        _validate_into(batch, docs, validator, entity, index, record)
    _serialise_into(batch, docs, entity)
    return batch


# Records validated between two returns to the event loop: about 10 ms of work, so that a batch
# of 5,000 never holds every other request back for its whole duration (docs/performance.md).
CHUNK_RECORDS = 200


async def validate_batch_yielding(entity, records, chunk=CHUNK_RECORDS):
    """validate_batch(), letting the event loop run other requests after every chunk of records.

    It empties records as it goes (each item becomes None once projected), so that the batch's
    parsed form is freed record by record: several large batches validated at once do not each
    hold theirs whole."""
    validator = validator_for(entity)
    batch, docs = ValidatedBatch(None, [], []), []
    for index, record in enumerate(records):
        if index and not index % chunk:
            await asyncio.sleep(0)
        records[index] = None
        _validate_into(batch, docs, validator, entity, index, record)
    _serialise_into(batch, docs, entity)
    return batch


def _validate_into(batch, docs, validator, entity, index, record):
    """Adds the record to docs (projected, its items too) and its index to batch.indexes if it is
    valid, else its error to batch.errors."""
    if not isinstance(record, dict):
        batch.errors.append({"index": index, "id": None, "reason": "record: must be a JSON object"})
        return
    doc = project(record, entity)
    if not validator.validate(doc, normalize=False):
        reason = describe(validator.errors)
    elif entity.record_checks:
        reason = next(filter(None, (check(doc) for check in entity.record_checks)), None)
    else:
        reason = None
    if reason:
        batch.errors.append(_skipped(entity, index, doc, reason))
        return
    docs.append(project_items(doc, entity) if entity.record_lists else doc)
    batch.indexes.append(index)


def _skipped(entity, index, doc, reason):
    """The error of the record at index, doc its projection."""
    return {"index": index, "id": reported_id(doc.get(entity.id_field)), "reason": reason}


def _serialise_into(batch, docs, entity):
    """Sets batch.records_json to the valid docs as a JSON array: written at once when orjson
    writes the whole of it as serialise() would each record (no Decimal, no NUL, nothing
    _orjson_json refuses), else record by record, a record serialise() refuses then skipped with
    its reason."""
    data = _orjson_json(docs)
    if data is not None and not _may_hold_nul(data):
        batch.records_json = data
        return
    texts, indexes = [], []
    for index, doc in zip(batch.indexes, docs):
        text, reason = serialise(doc, entity.record_lists)
        if reason:
            batch.errors.append(_skipped(entity, index, doc, reason))
        else:
            texts.append(text)
            indexes.append(index)
    batch.errors.sort(key=lambda error: error["index"])
    batch.records_json, batch.indexes = ("[" + ",".join(texts) + "]").encode(), indexes
