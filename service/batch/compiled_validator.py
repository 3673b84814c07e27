"""A Cerberus Validator that works out once per schema what Cerberus works out for every field of
every record: each field's queue of rules with their handlers, and the required fields.

The rules, their handlers and their messages are Cerberus' own; only the bookkeeping around
them is done ahead. It reproduces BareValidator.validate and its private steps of Cerberus 1.3
(setup.py pins that minor version); tests/test_compiled_validator.py compares its verdicts and
messages with stock Cerberus on every case of the case tables. Anything else (another schema
passed to validate(), normalisation, updates, child validators, ignore_none_values) goes through
Cerberus' own validate().
"""

from collections.abc import Iterable, Mapping

import cerberus
from cerberus import errors
from cerberus.validator import _SchemaRuleTypeError

# Never validated as rules of a field (BareValidator.__validate_definitions).
NOT_RULES = ("allow_unknown", "require_all", "meta", "required")


class CompiledValidator(cerberus.Validator):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plan = None
        self._plan_schema = None
        self._unrequired_by_excludes = set()  # BareValidator.validate sets it; _start keeps it

    def _compile(self):
        """{field: the one check(field, value, error) of a field with one rule}, {field: {rule:
        check(field, value)} in Cerberus' order} of the others, and the required fields."""
        only_checks, fields = {}, {}
        for field, definitions in self.schema.items():
            definitions = self._resolve_rules_set(definitions)
            queue = [x for x in self.priority_validations if x in definitions or x in self.mandatory_validations]
            queue.extend(x for x in self.mandatory_validations if x not in queue)
            queue.extend(
                x for x in definitions if x not in queue and x not in self.normalization_rules and x not in NOT_RULES
            )
            if len(queue) == 1:
                only_checks[field] = self._only_check(*queue, definitions.get(queue[0]))
            else:
                fields[field] = {rule: self._handler(rule, definitions.get(rule)) for rule in queue}
        required = {
            field
            for field, definitions in self.schema.items()
            if self._resolve_rules_set(definitions).get("required", self.require_all) is True
        }
        self._plan, self._plan_schema = (only_checks, fields, frozenset(required)), self.schema

    def _handler(self, rule, constraint):
        """rule's check of (field, value): a check_with function is called as Cerberus would."""
        if rule == "check_with" and _is_function(constraint):
            error = self._error
            return lambda field, value: constraint(field, value, error)
        handler = getattr(self, "_validate_" + rule.replace(" ", "_"), None)
        if handler is None:
            raise RuntimeError(f"There's no handler for '{rule}' in the 'validate' domain.")
        return lambda field, value: handler(constraint, field, value)

    def _only_check(self, rule, constraint):
        """The check(field, value, error) of a field's one rule: its check_with function itself, so
        that each field of each record costs one call."""
        if rule == "check_with" and _is_function(constraint):
            return constraint
        check = self._handler(rule, constraint)
        return lambda field, value, error: check(field, value)

    def validate(self, document, schema=None, update=False, normalize=True):
        # is_child, ignore_none_values, schema and _is_normalized are properties over _config and
        # _schema: read (and set) directly, once per record rather than through four calls.
        config = self._config
        if schema is not None or update or normalize or config.get("is_child") or config.get("ignore_none_values"):
            return super().validate(document, schema, update, normalize)
        if self._plan_schema is not self._schema:
            self._compile()
        only_checks, fields, required = self._plan
        self.update = False
        self._start(document, config)
        error = self._error
        for field, value in document.items():
            try:  # a subscript, not .get(): a call less for each field of each record
                only = only_checks[field]
            except KeyError:
                if field in fields:
                    self._check_field(fields[field], field)
                else:
                    self._BareValidator__validate_unknown_fields(field)
                continue
            try:  # noqa: SIM105 (suppress() costs a context manager per field)
                only(field, value, error)
            except _SchemaRuleTypeError:
                pass
        for field in required:  # BareValidator.__validate_required_fields, ignore_none_values off
            if field not in document and field not in self._unrequired_by_excludes:
                self._error(field, errors.REQUIRED_FIELD)
        if self._unrequired_by_excludes:
            self._check_excluded()
        self.error_handler.end(self)
        return not self._errors

    __call__ = validate

    def _start(self, document, config):
        """BareValidator.__init_processing, for a document of the compiled schema, and the state
        BareValidator.validate resets: new error containers only after a document that left
        errors in them (otherwise they are as new), the document itself rather than a copy
        (nothing is normalised, so nothing writes to it), and the excluded-field set and rule
        queue made anew only if the last document left them non-empty (as Cerberus leaves them
        after each field). Mapping or not, the document is checked as Cerberus checks it."""
        if self._errors or not (type(document) is dict or isinstance(document, Mapping)):
            self._BareValidator__init_processing(document)
        else:
            self.document = document
            config["_is_normalized"] = False
            self.error_handler.start(self)
        if self._unrequired_by_excludes:
            self._unrequired_by_excludes = set()
        if self._remaining_rules:
            self._remaining_rules = []

    def _check_field(self, rules, field):
        """BareValidator.__validate_definitions, its queue given: a rule may drop those queued after it."""
        value = self.document[field]
        self._remaining_rules = list(rules)
        while self._remaining_rules:
            try:
                if rules[self._remaining_rules.pop(0)](field, value):
                    break
            except _SchemaRuleTypeError:
                break
        self._remaining_rules = []

    def _check_excluded(self):
        """The rest of BareValidator.__validate_required_fields: fields made unrequired by an
        'excludes' rule are required after all when none of those excluding them is present."""
        fields = {field for field, value in self.document.items() if value is not None}
        if self._unrequired_by_excludes.isdisjoint(fields):
            for field in self._unrequired_by_excludes - fields:
                self._error(field, errors.REQUIRED_FIELD)


def _is_function(constraint):
    """Whether a check_with constraint is a function, called as it is (not a method's name, nor a list)."""
    return callable(constraint) and not isinstance(constraint, (str, Iterable))
