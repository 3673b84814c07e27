"""Field checks for the Cerberus schemas, one `check_with` rule per field.

Each check is the whole rule for its field (type and range together), so
Cerberus runs one rule per field instead of three, and the reasons read as
those of the SQL functions (sql/json_values.sql): a record is described the
same way whichever layer skips it. A reason never quotes the value.
"""

import re
from datetime import datetime
from decimal import Decimal

# The limits, each defined once for the HTTP layer; sql/json_values.sql defines
# the SQL layer's (the function named beside each), and a test checks they agree.
MAX_TEXT = 1000  # max_text_length()
MAX_EMAIL = 254  # max_email_length()
MAX_CATEGORIES = 100  # max_categories_per_product()
MAX_LINE_ITEMS = 500  # max_line_items_per_order()
MAX_MONEY = 10**15  # max_money()
MAX_INT = 2**31 - 1  # max_integer()
MAX_BIGINT = 2**63 - 1  # max_bigint()

# The same formats as the SQL functions accept.
ISO8601 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-](?:0[0-9]|1[0-5]):?[0-5][0-9])?)?"
)
# WooCommerce's own shape (its *_gmt fields, or with a Z), with every range in the pattern: a day
# the month has (February's 29th in leap years only), hours to 23, no year 0. What it matches
# ISO8601 matches and datetime.fromisoformat() takes, so it is all iso_timestamp() checks of it.
WOOCOMMERCE_TIMESTAMP = re.compile(
    r"(?!0000)"
    r"(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
    r"|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z?"
)
# Fewer digits before the point than MAX_MONEY has: below it, without building a Decimal.
MONEY_DIGITS = len(str(MAX_MONEY))
MONEY_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?")  # bounded by MAX_TEXT and MAX_MONEY, as text_money()
# ASCII whitespace only, spelled out: what \s means beyond it differs from SQL's [:space:].
EMAIL = re.compile(r"[^@ \t\n\r\f\v]+@[^@ \t\n\r\f\v]+")


def as_integer(value):
    """The int a JSON number written without a fraction stands for (5, or 5e3 parsed as a
    Decimal), within bigint range; None for anything else (5.0, "5", true). SQL reads the
    same: a number of scale 0 (json_bigint())."""
    if type(value) is int:  # type(): a JSON true is no integer
        return value if -MAX_BIGINT - 1 <= value <= MAX_BIGINT else None
    if (
        type(value) is Decimal
        and value.is_finite()
        and value.as_tuple().exponent >= 0
        and -MAX_BIGINT - 1 <= value <= MAX_BIGINT
    ):  # the bound before int(): 1e100000 stays cheap
        return int(value)
    return None


def is_positive_id(value):
    number = as_integer(value)
    return number is not None and number >= 1


def positive_id(field, value, error):
    if type(value) is int and 1 <= value <= MAX_BIGINT:  # the common case, without a call
        return
    if not is_positive_id(value):
        error(field, "must be a positive integer")


def integer_between(minimum, maximum):
    def check(field, value, error):
        if type(value) is int and minimum <= value <= maximum:  # the common case, without a call
            return
        number = as_integer(value)
        if number is None:
            error(field, "must be an integer")
        elif not minimum <= number <= maximum:
            error(field, f"must be between {minimum} and {maximum}")

    return check


def text(field, value, error):
    if type(value) is not str:
        error(field, "must be a string")
    elif len(value) > MAX_TEXT:
        error(field, f"longer than {MAX_TEXT} characters")


def name(field, value, error):
    if type(value) is str and value.strip(" \t\n\r") == "":  # as text_error() in SQL
        error(field, "must not be empty")
    else:
        text(field, value, error)


def exact_amount(value):
    """Whether a Decimal is an amount text_money() takes: finite, within bounds, and its
    plain text (as numeric prints it: no exponent, the scale kept) at most MAX_TEXT long."""
    if not value.is_finite() or not 0 <= value <= MAX_MONEY:  # the bound first: no huge int() below
        return False
    scale = max(0, -value.as_tuple().exponent)
    return len(str(int(value))) + (scale + 1 if scale else 0) <= MAX_TEXT


def money(field, value, error):
    """A non-negative number or numeric string ("24.99"); "" means none."""
    if type(value) is str:
        valid = value == "" or (
            len(value) <= MAX_TEXT
            and MONEY_TEXT.fullmatch(value) is not None
            # shorter than MAX_MONEY's digits (most amounts: no partition), or its integer part is
            and (
                len(value) < MONEY_DIGITS or len(value.partition(".")[0]) < MONEY_DIGITS or Decimal(value) <= MAX_MONEY
            )
        )
    elif type(value) is Decimal:  # a JSON number with a fraction or exponent, parsed exactly
        valid = exact_amount(value)
    else:
        valid = type(value) in (int, float) and 0 <= value <= MAX_MONEY  # False for NaN too
    if not valid:
        error(field, f"must be a non-negative number or numeric string up to {MAX_MONEY}")


def iso_timestamp(field, value, error):
    if type(value) is str and WOOCOMMERCE_TIMESTAMP.fullmatch(value):
        return
    if type(value) is not str or not ISO8601.fullmatch(value):
        error(field, "must be an ISO 8601 date or date-time")
        return
    try:
        datetime.fromisoformat(value)  # ranges: no 2026-02-30
    except ValueError:
        error(field, "must be an ISO 8601 date or date-time")


def email(field, value, error):
    if type(value) is not str:
        error(field, "must be a string")
        return
    address = value.strip(" ")  # as SQL's btrim(): spaces only
    if address and (len(address) > MAX_EMAIL or not EMAIL.fullmatch(address)):
        error(field, "must be an email address")


def category_list(field, value, error):
    """WooCommerce's [{id, name, slug}, ...], at most MAX_CATEGORIES of them: each item needs
    a positive id, and a name if any is text."""
    if type(value) is not list:
        error(field, "must be a list")
    elif len(value) > MAX_CATEGORIES:  # before any item is looked at
        error(field, f"more than {MAX_CATEGORIES} items")
    elif not all(type(item) is dict and is_positive_id(item.get("id")) for item in value):
        error(field, "every item must have a positive integer id")
    elif not all(
        item.get("name") is None or (type(item["name"]) is str and len(item["name"]) <= MAX_TEXT) for item in value
    ):  # the first one's may become category_name
        error(field, f"every item's name must be a string of at most {MAX_TEXT} characters")


def record_list(item_schema, max_items):
    """A list of at most max_items objects (an order's line_items), each checked against
    item_schema ({field: {"check_with": check, "required": bool}}), field by field in its
    order as the SQL function does; the first problem is reported as "item <n>: <field>: ..."."""

    def check(field, value, error):
        if type(value) is not list:
            error(field, "must be a list")
        elif len(value) > max_items:  # before any item is looked at
            error(field, f"more than {max_items} items")
        else:
            for index, item in enumerate(value):
                reason = item_error(item_schema, item)
                if reason:
                    error(field, f"item {index}: {reason}")
                    return

    return check


def item_error(item_schema, item):
    """'<field>: <reason>' for the first invalid field of item, or None."""
    if type(item) is not dict:
        return "must be a JSON object"
    reasons = []

    def error(field, message):
        reasons.append(f"{field}: {message}")

    for name, rule in item_schema.items():
        value = item.get(name)
        if value is None:
            if rule.get("required"):
                return f"{name}: required field"
        else:
            rule["check_with"](name, value, error)
            if reasons:
                return reasons[0]
    return None


def not_own_parent(record):
    if record.get("parent_id") == record["wc_category_id"]:
        return "parent_id: a category cannot be its own parent"
    return None
