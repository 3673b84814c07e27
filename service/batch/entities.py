"""The synced entities, as data: request key, schema, aliases, SQL function, webhook topic.

The one definition of an entity in the service: its sync route and its part of the OpenAPI
document (service/http/openapi.py), its webhook topics (service/http/webhooks.py) and the full sync runs'
list are made from ENTITIES. The database's table entities must name the same entities with the
same id columns, or the server refuses to start (service/http/server.py).

Each schema mirrors the checks of the entity's SQL function (sql/upsert_*.sql),
which stay authoritative: whatever passes here is checked again there. One
check_with rule per field (service/batch/checks.py) keeps Cerberus' work per
record small.
"""

from dataclasses import dataclass, field
from functools import cached_property

from psycopg2 import sql

from . import checks

ID = {"check_with": checks.positive_id}
REQUIRED_ID = {**ID, "required": True}
NAME = {"required": True, "check_with": checks.name}
TEXT = {"check_with": checks.text}
MONEY = {"check_with": checks.money}
COUNT = {"check_with": checks.integer_between(0, checks.MAX_INT)}
TIMESTAMP = {"check_with": checks.iso_timestamp}
# A record's own dates, as the spec names them, and as WooCommerce REST v3 does.
RECORD_DATES = {"created_at": TIMESTAMP, "updated_at": TIMESTAMP}
RECORD_DATE_ALIASES = {"created_at": "date_created_gmt", "updated_at": "date_modified_gmt"}


@dataclass(frozen=True)
class Entity:
    name: str  # the request's key, the URL's last segment, sync_logs.entity_type, the table
    id_field: str  # the WooCommerce id, the upsert key with store_id
    sql_function: str  # upsert_<name>(store_id, records, sync_log_id)
    schema: dict
    # a plain text field, stored as sent: tests, bench and load set it to tell row versions apart
    value_field: str
    # canonical field -> WooCommerce REST v3 name, read when the first is absent;
    # "billing.email" is the email field of the record's billing object
    aliases: dict = field(default_factory=dict)
    # field -> schema of each object of that list (an order's line_items): what
    # is passed on of each item once the record is valid
    record_lists: dict = field(default_factory=dict)
    # checks across fields, after the schema: record -> reason or None
    record_checks: tuple = ()
    # the resource of WooCommerce's webhook topics about it (<resource>.<event>), if it has them
    webhook_resource: str | None = None

    @property
    def query(self):
        return sql.SQL("SELECT * FROM {}(%s, %s::jsonb, %s)").format(sql.Identifier(self.sql_function))

    @cached_property
    def sources(self):
        """(field, alias) for each field of the schema: where a record's value is read when the
        field is absent. The alias is None, a key, or a path of keys (("billing", "email"))."""
        return tuple(
            (name, alias if alias is None or "." not in alias else tuple(alias.split(".")))
            for name, alias in ((name, self.aliases.get(name)) for name in self.schema)
        )

    @property
    def fields_read(self):
        """The names of a record's fields the service reads, in schema order: the schema's, then
        each alias's first part (an alias's object is read whole: "billing" for "billing.email")."""
        first_keys = (alias if type(alias) is str else alias[0] for _, alias in self.sources if alias is not None)
        return tuple(dict.fromkeys([*self.schema, *first_keys]))


PRODUCTS = Entity(
    name="products",
    webhook_resource="product",
    id_field="wc_product_id",
    sql_function="upsert_products",
    value_field="name",
    schema={
        "wc_product_id": REQUIRED_ID,
        "name": NAME,
        "sku": TEXT,
        "price": MONEY,
        "regular_price": MONEY,
        "sale_price": MONEY,
        "category_id": ID,
        "category_name": TEXT,
        "categories": {"check_with": checks.category_list},
        "stock_quantity": {"check_with": checks.integer_between(-checks.MAX_INT - 1, checks.MAX_INT)},
        "stock_status": TEXT,
        "status": TEXT,
        "type": TEXT,
        **RECORD_DATES,
    },
    aliases={"wc_product_id": "id", **RECORD_DATE_ALIASES},
)

CUSTOMERS = Entity(
    name="customers",
    webhook_resource="customer",
    id_field="wc_customer_id",
    sql_function="upsert_customers",
    value_field="display_name",
    schema={
        "wc_customer_id": REQUIRED_ID,
        "email": {"check_with": checks.email},
        "display_name": TEXT,
        "first_name": TEXT,  # read to derive display_name (in SQL), never stored
        "last_name": TEXT,
        "username": TEXT,
        "total_spent": MONEY,
        "order_count": COUNT,
        "first_order_date": TIMESTAMP,
        "last_order_date": TIMESTAMP,
        **RECORD_DATES,
    },
    aliases={"wc_customer_id": "id", **RECORD_DATE_ALIASES},
)

CATEGORIES = Entity(
    name="categories",
    id_field="wc_category_id",
    sql_function="upsert_categories",
    value_field="name",
    schema={
        "wc_category_id": REQUIRED_ID,
        "name": NAME,
        "slug": TEXT,
        "parent_id": {"check_with": checks.integer_between(0, checks.MAX_BIGINT)},  # 0: no parent
        "product_count": COUNT,
    },
    aliases={"wc_category_id": "id", "parent_id": "parent", "product_count": "count"},
    record_checks=(checks.not_own_parent,),
)

# The checks of sql/upsert_orders.sql's line_item_error(), in its order.
LINE_ITEM = {
    "id": ID,
    "product_id": {"required": True, "check_with": checks.integer_between(0, checks.MAX_BIGINT)},  # 0: deleted
    "variation_id": {"check_with": checks.integer_between(0, checks.MAX_BIGINT)},
    "quantity": {"required": True, **COUNT},
    "subtotal": MONEY,
    "total": MONEY,
    "price": MONEY,
    "sku": TEXT,
    "name": TEXT,
}

ORDERS = Entity(
    name="orders",
    webhook_resource="order",
    id_field="wc_order_id",
    sql_function="upsert_orders",
    value_field="status",
    schema={
        "wc_order_id": REQUIRED_ID,
        "status": NAME,  # WooCommerce's or a custom one; processing and completed are paid
        "currency": TEXT,
        "total": MONEY,
        "subtotal": MONEY,
        "total_tax": MONEY,
        "shipping_total": MONEY,
        "discount_total": MONEY,
        "customer_id": {"check_with": checks.integer_between(0, checks.MAX_BIGINT)},  # 0: a guest
        "email": {"check_with": checks.email},
        "billing_country": TEXT,
        **RECORD_DATES,
        "paid_at": TIMESTAMP,
        "completed_at": TIMESTAMP,
        "line_items": {"check_with": checks.record_list(LINE_ITEM, checks.MAX_LINE_ITEMS)},
    },
    aliases={
        "wc_order_id": "id",
        "email": "billing.email",
        "billing_country": "billing.country",
        **RECORD_DATE_ALIASES,
        "paid_at": "date_paid_gmt",
        "completed_at": "date_completed_gmt",
    },
    record_lists={"line_items": LINE_ITEM},
)

ENTITIES = {entity.name: entity for entity in (PRODUCTS, CUSTOMERS, CATEGORIES, ORDERS)}
