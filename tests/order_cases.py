"""Order records at the edges of every field, with the outcome both validation layers must give:
the orders' part of the case table (tests/layer_cases.py). A skipped case's reason is given as
the field it names first ("status: ")."""

from case_table import Case

MAX_BIGINT = 2**63 - 1


def order(**fields):
    """A valid order with fields added or replaced (a None value is sent as JSON null)."""
    return {"id": 1, "status": "processing", **fields}


def item(**fields):
    """A valid line item with fields added or replaced."""
    return {"id": 11, "product_id": 501, "quantity": 2, **fields}


def without(record, *names):
    return {name: value for name, value in record.items() if name not in names}


V3_ORDER = {
    "id": 727,
    "parent_id": 0,
    "status": "completed",
    "currency": "USD",
    "version": "8.5.1",
    "prices_include_tax": False,
    "date_created": "2026-01-15T11:30:00",
    "date_modified": "2026-01-16T09:00:00",
    "discount_total": "5.00",
    "discount_tax": "0.00",
    "shipping_total": "10.00",
    "shipping_tax": "0.00",
    "cart_tax": "1.35",
    "total": "29.35",
    "total_tax": "1.35",
    "customer_id": 26,
    "order_key": "wc_order_58d2d042d1d",
    "payment_method": "bacs",
    "payment_method_title": "Direct Bank Transfer",
    "transaction_id": "",
    "customer_ip_address": "203.0.113.7",
    "customer_user_agent": "Mozilla/5.0",
    "created_via": "rest-api",
    "customer_note": "Leave it with Mrs Smith at 5 Elm Street",
    "date_completed": "2026-01-16T09:00:00",
    "date_paid": "2026-01-15T11:31:00",
    "cart_hash": "",
    "billing": {
        "first_name": "John",
        "last_name": "Doe",
        "company": "",
        "address_1": "969 Market",
        "address_2": "",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
        "email": "john.doe@example.com",
        "phone": "(555) 555-5555",
    },
    "shipping": {
        "first_name": "John",
        "last_name": "Doe",
        "company": "",
        "address_1": "969 Market",
        "address_2": "",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
    },
    "date_created_gmt": "2026-01-15T10:30:00",
    "date_modified_gmt": "2026-01-16T08:00:00",
    "date_completed_gmt": "2026-01-16T08:00:00",
    "date_paid_gmt": "2026-01-15T10:31:00",
    "line_items": [
        {
            "id": 315,
            "name": "Woo Single #1",
            "product_id": 93,
            "variation_id": 0,
            "quantity": 2,
            "tax_class": "",
            "subtotal": "6.00",
            "subtotal_tax": "0.45",
            "total": "6.00",
            "total_tax": "0.45",
            "taxes": [{"id": 75, "total": "0.45", "subtotal": "0.45"}],
            "meta_data": [{"id": 1, "key": "Gift message", "value": "For John Doe, 969 Market"}],
            "sku": "",
            "price": 3,
            "image": {"id": "", "src": ""},
            "parent_name": None,
        },
        {
            "id": 316,
            "name": "Ship Your Idea &ndash; Color: Black, Size: M",
            "product_id": 22,
            "variation_id": 23,
            "quantity": 1,
            "tax_class": "",
            "subtotal": "12.00",
            "subtotal_tax": "0.90",
            "total": "12.00",
            "total_tax": "0.90",
            "taxes": [],
            "meta_data": [],
            "sku": "SYI-BLK-M",
            "price": 12.5,
            "parent_name": "Ship Your Idea",
        },
    ],
    "tax_lines": [],
    "shipping_lines": [],
    "fee_lines": [],
    "coupon_lines": [],
    "refunds": [],
    "set_paid": False,
    "meta_data": [],
}

BAD_MONEY = ["-1", "1e3", "abc", " 5", "1.", ".5", "1,00", "1000000000000000.01", -0.01, True, [1], {"v": 1}]
BAD_TIMESTAMPS = ["2026-02-30", "yesterday", "2026-01-15T10:30:00+16:00", 20260115]
MONEY_FIELDS = ["total", "subtotal", "total_tax", "shipping_total", "discount_total"]
ALIASED_TIMESTAMPS = {
    "created_at": "date_created_gmt",
    "updated_at": "date_modified_gmt",
    "paid_at": "date_paid_gmt",
    "completed_at": "date_completed_gmt",
}

ORDER_CASES = [
    # --- stored ---
    Case(V3_ORDER),
    Case(
        {
            "wc_order_id": 1001,
            "status": "completed",
            "currency": "EUR",
            "total": "54.97",
            "subtotal": "49.98",
            "total_tax": "0.00",
            "shipping_total": "4.99",
            "discount_total": "0",
            "customer_id": 42,
            "email": "john@example.com",
            "billing_country": "DE",
            "created_at": "2026-01-15T10:30:00Z",
            "updated_at": "2026-01-16T08:00:00+01:00",
            "paid_at": "2026-01-15",
            "completed_at": None,
            "line_items": [
                item(variation_id=0, subtotal="49.98", total="49.98", price="24.99", sku="BW-001", name="Blue Widget")
            ],
        }
    ),
    Case({"id": 1, "status": "pending"}),
    *[
        Case(order(status=status))
        for status in [
            "pending",
            "processing",
            "on-hold",
            "completed",
            "cancelled",
            "refunded",
            "failed",
            "trash",
            "shipped",
            "wc-completed",
            "Completed",
            "s" * 1000,
        ]
    ],
    *[
        Case(order(**{field: amount}))
        for field in MONEY_FIELDS
        for amount in ["0", "0.00", "007.50", "1000000000000000", "", 12, 12.5, 0]
    ],
    *[Case(order(customer_id=customer_id)) for customer_id in [0, None, 42, MAX_BIGINT]],
    Case(order(email="")),
    Case(order(email="  John.Doe@Example.COM ")),
    Case(order(email=None)),
    Case(order(billing={"email": "guest@example.com", "country": "FR", "phone": "+33 1 23 45 67 89"})),
    Case(order(billing={"email": "", "country": ""})),
    Case(order(billing=None)),
    Case(order(billing="no object")),
    Case(order(billing=[1, 2])),
    Case(order(email="top@example.com", billing={"email": "not an email"})),  # the field wins over its alias
    Case(order(billing_country="NL", billing={"country": 5})),
    Case(order(wc_order_id=None, id=2)),  # null: the alias is read
    *[Case(order(**{alias: "2026-01-15T10:30:00"})) for alias in ALIASED_TIMESTAMPS.values()],
    *[Case(order(**{field: None})) for field in ALIASED_TIMESTAMPS],
    Case(order(line_items=[])),
    Case(order(line_items=None)),
    Case(order(line_items=[item(id=n) for n in range(1, 501)])),  # the cap
    Case(order(line_items=[item(product_id=0, variation_id=0, quantity=0)])),  # a deleted product
    Case(order(line_items=[without(item(), "id")])),
    Case(order(line_items=[item(id=None, variation_id=None, total=None, price=None, sku=None, name=None)])),
    Case(order(line_items=[item(product_id=MAX_BIGINT, quantity=2**31 - 1, total="", price=0.1)])),
    Case(order(line_items=[item(meta_data=[{"key": "note", "value": 5}], taxes="x", image=None)])),
    # --- skipped ---
    Case(without(order(), "id"), "wc_order_id: "),
    *[Case(order(id=wc_id), "wc_order_id: ") for wc_id in ["5", 0, -1, True, 1.5, MAX_BIGINT + 1, [1]]],
    Case(without(order(), "status"), "status: "),
    *[Case(order(status=status), "status: ") for status in [None, "", "  ", 5, ["completed"], "s" * 1001]],
    Case(order(currency=5), "currency: "),
    Case(order(currency="c" * 1001), "currency: "),
    *[Case(order(**{field: amount}), f"{field}: ") for field in MONEY_FIELDS for amount in BAD_MONEY],
    *[Case(order(customer_id=customer_id), "customer_id: ") for customer_id in [-1, "42", 1.5, True, MAX_BIGINT + 1]],
    Case(order(email="not-an-email"), "email: "),
    Case(order(email=5), "email: "),
    Case(order(email="a@b@c"), "email: "),
    Case(order(email="\tjohn@example.com"), "email: "),
    Case(order(email="j" * 243 + "@example.com"), "email: "),
    Case(order(billing={"email": "not-an-email"}), "email: "),
    Case(order(billing={"email": 5}), "email: "),
    Case(order(billing={"country": 5}), "billing_country: "),
    Case(order(billing_country="c" * 1001), "billing_country: "),
    *[Case(order(**{field: value}), f"{field}: ") for field in ALIASED_TIMESTAMPS for value in BAD_TIMESTAMPS],
    *[Case(order(**{alias: "2026-13-01"}), f"{field}: ") for field, alias in ALIASED_TIMESTAMPS.items()],
    *[Case(order(line_items=items), "line_items: ") for items in [{}, "x", 5, {"0": item()}]],
    Case(order(line_items=[item(id=n) for n in range(1, 502)]), "line_items: "),
    Case(order(line_items=[item()] * 500 + [5]), "line_items: "),  # over the cap, unread
    *[
        Case(order(line_items=[item(), bad]), "line_items: ")
        for bad in [
            5,
            None,
            [],
            "item",
            without(item(), "product_id"),
            without(item(), "quantity"),
            item(product_id=None),
            item(id=0),
            item(id="11"),
            item(product_id=-1),
            item(product_id="501"),
            item(product_id=1.5),
            item(variation_id=-1),
            item(variation_id="23"),
            item(quantity=-1),
            item(quantity=1.5),
            item(quantity="2"),
            item(quantity=2**31),
            item(quantity=True),
            *[item(**{field: amount}) for field in ("subtotal", "total", "price") for amount in BAD_MONEY],
            item(sku=5),
            item(name="n" * 1001),
            item(name=["x"]),
        ]
    ],
]
