"""The three synced entities, as data: request key, schema, aliases, SQL function.

Each schema mirrors the checks of the entity's SQL function (sql/upsert_*.sql),
which stay authoritative: whatever passes here is checked again there. One
check_with rule per field (service/checks.py) keeps Cerberus' work per
record small.
"""
from dataclasses import dataclass, field

from psycopg2 import sql

from . import checks

ID = {"check_with": checks.positive_id}
REQUIRED_ID = {**ID, "required": True}
NAME = {"required": True, "check_with": checks.name}
TEXT = {"check_with": checks.text}
MONEY = {"check_with": checks.money}
COUNT = {"check_with": checks.integer_between(0, checks.MAX_INT)}
TIMESTAMP = {"check_with": checks.iso_timestamp}


@dataclass(frozen=True)
class Entity:
    name: str  # the request's key, the URL's last segment, sync_logs.entity_type, the table
    id_field: str  # the WooCommerce id, the upsert key with store_id
    sql_function: str  # upsert_<name>(store_id, records, sync_log_id)
    schema: dict
    # a plain text field, stored as sent: tests, bench and load set it to tell row versions apart
    value_field: str
    # canonical field -> WooCommerce REST v3 name, read when the first is absent
    aliases: dict = field(default_factory=dict)
    # checks across fields, after the schema: record -> reason or None
    record_checks: tuple = ()

    @property
    def query(self):
        return sql.SQL("SELECT * FROM {}(%s, %s::jsonb, %s)").format(sql.Identifier(self.sql_function))


PRODUCTS = Entity(
    name="products",
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
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    },
    aliases={
        "wc_product_id": "id",
        "created_at": "date_created_gmt",
        "updated_at": "date_modified_gmt",
    },
)

CUSTOMERS = Entity(
    name="customers",
    id_field="wc_customer_id",
    sql_function="upsert_customers",
    value_field="display_name",
    schema={
        "wc_customer_id": REQUIRED_ID,
        "email": {"check_with": checks.email},
        "display_name": TEXT,
        "total_spent": MONEY,
        "order_count": COUNT,
        "first_order_date": TIMESTAMP,
        "last_order_date": TIMESTAMP,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
    },
    aliases={
        "wc_customer_id": "id",
        "created_at": "date_created_gmt",
        "updated_at": "date_modified_gmt",
    },
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

ENTITIES = {entity.name: entity for entity in (PRODUCTS, CUSTOMERS, CATEGORIES)}
