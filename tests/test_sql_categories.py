"""upsert_categories (sql/upsert_categories.sql), called directly as from psql.

What is particular to categories: the parent is a WooCommerce id, kept as
sent (wc_parent_id) and resolved to the internal key (parent_id) as soon as
the parent exists, whichever comes first or if both come in one batch; 0
or null means no parent; a category cannot be its own parent. A category's
arrival also resolves the products waiting for it. The batch contract
shared with the other entities is in test_sql_sync_logs.py.
"""

import pytest

from sql_helpers import assert_failed_batch, failing_trigger, last_sync_at, rows, sync_logs


def categories(query, store_id):
    return {row["wc_category_id"]: row for row in rows(query, "categories", store_id)}


def parents(query, store_id):
    """{wc_category_id: (wc_parent_id, wc_category_id of the row parent_id points to)}"""
    found = query(
        """
        SELECT c.wc_category_id, c.wc_parent_id, p.wc_category_id AS resolved
          FROM categories c
          LEFT JOIN categories p ON p.store_id = c.store_id AND p.id = c.parent_id
         WHERE c.store_id = %s""",
        (store_id,),
    )
    return {row["wc_category_id"]: (row["wc_parent_id"], row["resolved"]) for row in found}


def test_every_field_is_stored_as_sent(store, sync_sql, query):
    result = sync_sql(
        "categories",
        store.id,
        [
            {"wc_category_id": 10, "name": "Widgets", "slug": "widgets", "parent_id": None, "product_count": 25},
            {"id": 11, "name": "Gadgets", "slug": "gadgets", "parent": 0, "count": 3},
        ],
    )  # WooCommerce's names

    assert (result["status"], result["synced_count"], result["unchanged_count"]) == ("completed", 2, 0)
    stored = {
        wc_id: (row["name"], row["slug"], row["wc_parent_id"], row["parent_id"], row["product_count"])
        for wc_id, row in categories(query, store.id).items()
    }
    assert stored == {10: ("Widgets", "widgets", None, None, 25), 11: ("Gadgets", "gadgets", None, None, 3)}


# --- Parents --------------------------------------------------------------------------------------


def test_parent_is_resolved_when_it_came_first(store, sync_sql, query):
    sync_sql("categories", store.id, [{"wc_category_id": 1, "name": "parent"}])
    sync_sql(
        "categories",
        store.id,
        [
            {"wc_category_id": 2, "name": "child", "parent_id": 1},
            {"wc_category_id": 3, "name": "orphan", "parent_id": 99},
        ],
    )
    assert parents(query, store.id) == {1: (None, None), 2: (1, 1), 3: (99, None)}


def test_parent_is_resolved_when_it_comes_in_a_later_batch(store, sync_sql, query):
    sync_sql(
        "categories",
        store.id,
        [
            {"wc_category_id": 2, "name": "child", "parent_id": 1},
            {"wc_category_id": 3, "name": "grandchild", "parent": 2},
        ],
    )
    assert parents(query, store.id) == {2: (1, None), 3: (2, 2)}

    sync_sql("categories", store.id, [{"wc_category_id": 1, "name": "parent"}])
    assert parents(query, store.id) == {1: (None, None), 2: (1, 1), 3: (2, 2)}


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 1, 0], [1, 2, 0]], ids=lambda order: "-".join(map(str, order)))
def test_parent_and_child_in_one_batch_resolve_in_any_order(order, store, sync_sql, query):
    """wc ids chosen so that the child sorts before its parent, too."""
    family = [
        {"wc_category_id": 50, "name": "root"},
        {"wc_category_id": 20, "name": "child", "parent_id": 50},
        {"wc_category_id": 5, "name": "grandchild", "parent_id": 20},
    ]
    sync_sql("categories", store.id, [family[i] for i in order])
    assert parents(query, store.id) == {50: (None, None), 20: (50, 50), 5: (20, 20)}


def test_a_tree_sent_again_keeps_its_row_ids_and_resolves_new_children(store, sync_sql, query):
    """A stored parent sent again with a new child: the child points at the row the parent kept."""
    family = [{"wc_category_id": 50, "name": "root"}, {"wc_category_id": 20, "name": "child", "parent_id": 50}]
    sync_sql("categories", store.id, family)
    row_ids = {wc_id: row["id"] for wc_id, row in categories(query, store.id).items()}

    sync_sql("categories", store.id, [{"wc_category_id": 7, "name": "new", "parent_id": 20}, *family])
    after = categories(query, store.id)
    assert {wc_id: after[wc_id]["id"] for wc_id in row_ids} == row_ids
    assert after[7]["parent_id"] == row_ids[20]
    assert parents(query, store.id) == {50: (None, None), 20: (50, 50), 7: (20, 20)}


@pytest.mark.parametrize("no_parent", [{"parent_id": 0}, {"parent_id": None}, {"parent": 0}, {}], ids=repr)
def test_parent_zero_or_null_means_no_parent(no_parent, store, sync_sql, query):
    sync_sql(
        "categories",
        store.id,
        [{"wc_category_id": 1, "name": "parent"}, {"wc_category_id": 2, "name": "child", "parent_id": 1}],
    )
    result = sync_sql("categories", store.id, [{"wc_category_id": 2, "name": "child", **no_parent}])
    assert result["errors"] == []
    assert parents(query, store.id) == {1: (None, None), 2: (None, None)}  # moved to the top level


def test_moving_a_category_to_another_parent_resolves_the_new_one(store, sync_sql, query):
    sync_sql(
        "categories",
        store.id,
        [
            {"wc_category_id": 1, "name": "a"},
            {"wc_category_id": 2, "name": "b"},
            {"wc_category_id": 3, "name": "child", "parent_id": 1},
        ],
    )
    sync_sql("categories", store.id, [{"wc_category_id": 3, "name": "child", "parent_id": 2}])
    assert parents(query, store.id)[3] == (2, 2)
    sync_sql(
        "categories",
        store.id,
        [{"wc_category_id": 3, "name": "child", "parent_id": 4}, {"wc_category_id": 4, "name": "new parent"}],
    )
    assert parents(query, store.id)[3] == (4, 4)


def test_a_parent_in_another_store_is_never_resolved(make_store, sync_sql, query):
    store_a, store_b = make_store("A"), make_store("B")
    sync_sql("categories", store_b.id, [{"wc_category_id": 1, "name": "B's parent"}])
    sync_sql("categories", store_a.id, [{"wc_category_id": 2, "name": "A's child", "parent_id": 1}])
    assert parents(query, store_a.id) == {2: (1, None)}

    sync_sql("categories", store_b.id, [{"wc_category_id": 1, "name": "B's parent again"}])
    assert parents(query, store_a.id) == {2: (1, None)}
    sync_sql("categories", store_a.id, [{"wc_category_id": 1, "name": "A's parent"}])
    assert parents(query, store_a.id) == {1: (None, None), 2: (1, 1)}
    assert parents(query, store_b.id) == {1: (None, None)}


# --- Products waiting for their category ----------------------------------------------------------


def product_categories(query, store_id):
    """{wc_product_id: wc_category_id of the row category_id points to}"""
    found = query(
        """
        SELECT p.wc_product_id, c.wc_category_id AS resolved
          FROM products p LEFT JOIN categories c ON c.store_id = p.store_id AND c.id = p.category_id
         WHERE p.store_id = %s""",
        (store_id,),
    )
    return {row["wc_product_id"]: row["resolved"] for row in found}


def test_a_category_arriving_resolves_the_products_waiting_for_it(make_store, sync_sql, query):
    store, other = make_store(), make_store()
    for target in (store, other):
        sync_sql(
            "products",
            target.id,
            [
                {"wc_product_id": 1, "name": "a", "category_id": 10},
                {"wc_product_id": 2, "name": "b", "categories": [{"id": 10}, {"id": 20}]},
                {"wc_product_id": 3, "name": "c", "category_id": 20},
            ],
        )
    assert product_categories(query, store.id) == {1: None, 2: None, 3: None}

    sync_sql("categories", store.id, [{"wc_category_id": 10, "name": "ten"}])
    assert product_categories(query, store.id) == {1: 10, 2: 10, 3: None}
    sync_sql("categories", store.id, [{"wc_category_id": 20, "name": "twenty"}])
    assert product_categories(query, store.id) == {1: 10, 2: 10, 3: 20}
    assert product_categories(query, other.id) == {1: None, 2: None, 3: None}  # the other store's wait on


def test_a_failure_resolving_waiting_products_undoes_the_categories(store, sync_sql, query):
    """Categories and the products they resolve are written by separate statements of one transaction."""
    sync_sql("products", store.id, [{"wc_product_id": 1, "name": "waiting", "category_id": 10}])
    sync_sql("categories", store.id, [{"wc_category_id": 5, "name": "before"}])
    stored, synced_at = rows(query, "categories", store.id), last_sync_at(query, store.id)

    with failing_trigger(query, "products", store.id, events="UPDATE"):
        result = sync_sql(
            "categories", store.id, [{"wc_category_id": 5, "name": "after"}, {"wc_category_id": 10, "name": "ten"}]
        )

    assert_failed_batch(query, store.id, result, received=2, message="injected failure on products")
    assert rows(query, "categories", store.id) == stored
    assert product_categories(query, store.id) == {1: None}
    assert last_sync_at(query, store.id) == synced_at
    assert [log["status"] for log in sync_logs(query, store.id)] == ["completed", "completed", "failed"]
