"""The compiled validator judges every case of the case tables as stock Cerberus does: the same
verdict and the same messages (service/batch/compiled_validator.py)."""

import cerberus
import pytest

from service.batch.entities import ENTITIES
from service.batch.validation import RecordValidator, parse_json, project

from layer_cases import CASES


class StockWithoutNullable(cerberus.Validator):
    """Stock Cerberus configured as RecordValidator is: without the mandatory 'nullable' rule."""

    mandatory_validations = ()


def records(name):
    for case in CASES[name]:
        record = parse_json(case.record) if isinstance(case.record, str) else case.record
        if isinstance(record, dict):
            yield record


def judged(validator, document):
    return validator.validate(document, normalize=False), validator.errors


@pytest.mark.parametrize("name", sorted(CASES))
def test_projected_records_judged_as_stock_cerberus(name):
    """As validate_batch() calls it: projected records (nulls dropped), one validator for all."""
    entity = ENTITIES[name]
    compiled, stock = RecordValidator(entity.schema), cerberus.Validator(entity.schema)
    documents = [project(record, entity) for record in records(name)]
    assert documents
    for document in documents:
        assert judged(compiled, document) == judged(stock, document), document


@pytest.mark.parametrize("name", sorted(CASES))
def test_raw_records_judged_as_stock_cerberus(name):
    """Unprojected: unknown fields, nulls and missing required fields reach the rules as sent."""
    entity = ENTITIES[name]
    compiled, stock = RecordValidator(entity.schema), StockWithoutNullable(entity.schema)
    for record in records(name):
        for document in (record, {**record, "unknown": 1}, {**record, entity.id_field: None}, {}):
            assert judged(compiled, document) == judged(stock, document), document


def test_a_schema_passed_to_validate_is_followed():
    """validate(doc, schema) is Cerberus' own, which keeps that schema: the compiled path follows it."""
    validator = RecordValidator(ENTITIES["products"].schema)
    assert not validator.validate({"a": "x"}, {"a": {"type": "integer", "required": True}})
    assert validator.errors == {"a": ["must be of integer type"]}
    assert not validator.validate({}, normalize=False)
    assert validator.errors == {"a": ["required field"]}


def test_each_document_starts_with_the_state_stock_cerberus_gives_it():
    """Error containers are made anew only after a document that left errors: whatever the order,
    the errors, trees and document are those of the document just validated."""
    entity = ENTITIES["customers"]
    compiled, stock = RecordValidator(entity.schema), cerberus.Validator(entity.schema)
    valid, invalid = {"wc_customer_id": 1}, {"wc_customer_id": 0, "email": "x"}
    for document in (valid, invalid, invalid, valid, valid, invalid, valid):
        assert judged(compiled, document) == judged(stock, document)
        assert compiled.document == stock.document == document
        assert compiled.recent_error == stock.recent_error
        assert bool(compiled.document_error_tree.errors) == bool(stock.document_error_tree.errors)
        assert len(compiled.document_error_tree.fetch_errors_from(("email",))) == len(
            stock.document_error_tree.fetch_errors_from(("email",))
        )
    for validator in (compiled, stock):
        with pytest.raises(cerberus.DocumentError):
            validator.validate(["not", "a", "mapping"], normalize=False)
