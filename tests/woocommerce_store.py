"""A small WooCommerce store as REST API v3 returns it (seeded, deterministic), and the
figures the assistant's views must give for it, computed here in plain Python from what
is sent alone.

Orders are registered and guest, in every WooCommerce status and a custom one, with
1-4 line items; buyers carry names, addresses, phones, IPs and notes that must never be
stored (PII). Products list one to three categories of a three-level tree; some items
point at a product that is never sent, or at 0 (a deleted product); some orders at a
customer who is never sent.
"""

import hashlib
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

PAID = {"processing", "completed"}  # WooCommerce's wc_get_is_paid_statuses()
STATUSES = ["pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash", "shipped"]

# (id, name, parent): Posters (40) is listed by products but never sent as a category.
CATEGORIES = [
    (10, "Clothing", 0),
    (11, "Shirts", 10),
    (12, "Hoodies", 10),
    (13, "Long sleeve", 11),
    (20, "Music", 0),
    (21, "Vinyl", 20),
    (30, "Gift cards", 0),
]
UNSENT_CATEGORY = 40
# Last names unlike any other text of the suite: the PII scan looks for them in every row.
PEOPLE = [
    ("John", "Whitcombe", "john.whitcombe"),
    ("Maria", "Garcia-Lindqvist", "mgarcia.shop"),
    ("Wei", "Zhangsun", "wei_zhangsun"),
    ("Amara", "Okafor", "amara-okafor"),
    ("Lars", "Eriksson", "lars.eriksson"),
    ("Chloe", "Dubois", "chloe@dubois.example"),
]
GUESTS = ["Guest.One@Example.org", "guest.two@example.org", "guest.three@example.org"]
UNSENT_CUSTOMER = 999
UNSENT_PRODUCT = 9999


def email_hash(address):
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def gmt(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S")  # as WooCommerce writes *_gmt: UTC, no offset


def address(rng, first, last, email=None):
    street = f"{rng.randint(1, 999)} {rng.choice(['Elm', 'Market', 'Harbour', 'Linden'])} Street"
    fields = {
        "first_name": first,
        "last_name": last,
        "company": f"{last} Holdings",
        "address_1": street,
        "address_2": f"Apt {rng.randint(1, 99)}",
        "city": rng.choice(["Lyon", "Austin", "Lagos", "Malmo"]),
        "state": "",
        "postcode": f"PC {rng.randint(10000, 99999)}",
        "country": rng.choice(["FR", "US", "NG", "SE"]),
    }
    if email is not None:
        fields.update(email=email, phone=f"+1 555 {rng.randint(1000000, 9999999)}")
    return fields


class Store:
    def __init__(self, seed=11, orders=60, more_categories=0):
        """more_categories: that many more, below the others, listed by no product (a bigger store)."""
        rng = random.Random(seed)
        tree = CATEGORIES + [
            (1000 + n, f"Category {n}", rng.choice([10, 11, 20, 21, 30])) for n in range(more_categories)
        ]
        self.categories = [
            {
                "id": wc_id,
                "name": name,
                "slug": name.lower().replace(" ", "-"),
                "parent": parent,
                "display": "default",
                "count": 0,
            }
            for wc_id, name, parent in tree
        ]
        category_ids = [wc_id for wc_id, _, _ in CATEGORIES if wc_id != 30] + [UNSENT_CATEGORY]
        names = {wc_id: name for wc_id, name, _ in CATEGORIES}
        self.products = []
        for n in range(1, 16):
            listed = rng.sample(category_ids, rng.randint(1, 3))
            if n == 1:
                listed = [11, 13]  # a product in a category and its own subcategory
            price = Decimal(rng.randint(300, 9000)) / 100
            self.products.append(
                {
                    "id": 500 + n,
                    "name": f"Item {n}",
                    "slug": f"item-{n}",
                    "type": "simple",
                    "status": "publish",
                    "sku": f"SKU-{n}",
                    "price": str(price),
                    "regular_price": str(price),
                    "sale_price": "",
                    "stock_quantity": rng.randint(0, 50),
                    "stock_status": "instock",
                    "categories": [{"id": c, "name": names.get(c, "Posters"), "slug": f"c{c}"} for c in listed],
                    "date_created_gmt": "2025-12-01T09:00:00",
                    "date_modified_gmt": "2026-01-02T09:00:00",
                }
            )
        self.customers = []
        for n, (first, last, username) in enumerate(PEOPLE, start=1):
            email = f"{first}.{last}@example.com"
            self.customers.append(
                {
                    "id": 100 + n,
                    "date_created_gmt": "2025-11-01T08:00:00",
                    "date_modified_gmt": "2026-01-01T08:00:00",
                    "email": email,
                    "first_name": first,
                    "last_name": last,
                    "role": "customer",
                    "username": username,
                    "billing": address(rng, first, last, email),
                    "shipping": address(rng, first, last),
                    "is_paying_customer": True,
                    "avatar_url": "https://secure.gravatar.com/avatar/x",
                    "meta_data": [],
                }
            )
        self.orders = [self._order(rng, n) for n in range(1, orders + 1)]

    def _order(self, rng, n):
        buyer = rng.random()
        if buyer < 0.6:
            customer = rng.choice(self.customers)
            customer_id, first, last, email = (
                customer["id"],
                customer["first_name"],
                customer["last_name"],
                customer["email"],
            )
        elif buyer < 0.7:
            customer_id, first, last, email = UNSENT_CUSTOMER, "Nadia", "Petrova", "nadia.petrova@example.net"
        else:
            customer_id, first, last = 0, "Guest", f"Buyer{n}"
            email = rng.choice(GUESTS + [""])  # a guest may leave no email
            email = f"  {email.upper()} " if email and rng.random() < 0.3 else email
        products = [product["id"] for product in self.products] + [UNSENT_PRODUCT, 0]
        line_items = []
        for position in range(rng.randint(1, 4)):
            quantity = rng.randint(1, 3)
            price = Decimal(rng.randint(300, 9000)) / 100
            total = price * quantity - (Decimal(rng.randint(0, 100)) / 100 if rng.random() < 0.3 else 0)
            line_items.append(
                {
                    "id": n * 10 + position,
                    "name": f"Line {position}",
                    "product_id": rng.choice(products),
                    "variation_id": 0,
                    "quantity": quantity,
                    "tax_class": "",
                    "subtotal": str(price * quantity),
                    "subtotal_tax": "0.00",
                    "total": str(total),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [{"id": 1, "key": "Engraving", "value": f"For {first} {last}"}],
                    "sku": "",
                    "price": float(price),
                    "image": {"id": "", "src": ""},
                    "parent_name": None,
                }
            )
        created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randint(0, 24 * 60))
        status = rng.choice(STATUSES)
        total = sum(Decimal(item["total"]) for item in line_items) + Decimal("4.99")
        return {
            "id": 7000 + n,
            "parent_id": 0,
            "status": status,
            "currency": "EUR",
            "version": "8.5.1",
            "prices_include_tax": False,
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "4.99",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": str(total),
            "total_tax": "0.00",
            "customer_id": customer_id,
            "order_key": f"wc_order_{n}",
            "billing": address(rng, first, last, email),
            "shipping": address(rng, first, last),
            "payment_method": "stripe",
            "payment_method_title": "Card",
            "transaction_id": f"ch_{n}",
            "customer_ip_address": f"198.51.100.{n % 250}",
            "customer_user_agent": f"Mozilla/5.0 (X11; buyer {n})",
            "created_via": "checkout",
            "customer_note": f"Ring {first} {last} at the back door",
            "date_created_gmt": gmt(created),
            "date_modified_gmt": gmt(created + timedelta(hours=2)),
            "date_paid_gmt": gmt(created + timedelta(minutes=5)) if status in PAID else None,
            "date_completed_gmt": gmt(created + timedelta(hours=2)) if status == "completed" else None,
            "line_items": line_items,
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [],
            "meta_data": [],
        }

    # --- What must never be stored ---

    def pii(self):
        """Every name (but first names, kept as in "John D."), address, phone, IP, note and plain email sent."""
        found = set()
        for record in self.customers + self.orders:
            for part in ("billing", "shipping"):
                for key in ("last_name", "company", "address_1", "address_2", "postcode", "email", "phone"):
                    if record[part].get(key, "").strip():
                        found.add(record[part][key].strip())
            found.update(
                record.get(key)
                for key in ("customer_ip_address", "customer_user_agent", "customer_note", "username", "email")
                if record.get(key)
            )
            found.add(f"{record['billing']['first_name']} {record['billing']['last_name']}")
        return sorted(found)

    # --- The figures, from what was sent ---

    def paid_orders(self):
        return [order for order in self.orders if order["status"] in PAID]

    def customer_order_stats(self):
        """{(wc_customer_id or None, email_hash): (order_count, total_spent, first, last)}"""
        by_key = defaultdict(list)
        sent = {customer["id"]: customer for customer in self.customers}
        for order in self.paid_orders():
            if order["customer_id"]:
                by_key[order["customer_id"]].append(order)
            elif order["billing"]["email"].strip():
                by_key[email_hash(order["billing"]["email"])].append(order)
        stats = {}
        for key in set(by_key) | set(sent):
            orders = sorted(by_key.get(key, []), key=lambda order: order["date_created_gmt"])
            if isinstance(key, int):
                address = sent[key]["email"] if key in sent else orders[-1]["billing"]["email"]
                identity = (key, email_hash(address))
            else:
                identity = (None, key)
            dates = [datetime.fromisoformat(order["date_created_gmt"]).replace(tzinfo=UTC) for order in orders]
            stats[identity] = (
                len(orders),
                sum((Decimal(order["total"]) for order in orders), Decimal(0)),
                min(dates, default=None),
                max(dates, default=None),
            )
        return stats

    def category_sales(self, rollup=False):
        """{wc_category_id: (category_name, order_count, units_sold, revenue)}"""
        parents = {category["id"]: category["parent"] for category in self.categories}
        names = {category["id"]: category["name"] for category in self.categories}
        product_categories = {product["id"]: {c["id"] for c in product["categories"]} for product in self.products}

        def with_ancestors(wc_id):
            while wc_id:
                yield wc_id
                wc_id = parents.get(wc_id, 0)

        orders, units, revenue = defaultdict(set), defaultdict(int), defaultdict(Decimal)
        for order in self.paid_orders():
            for item in order["line_items"]:
                categories = product_categories.get(item["product_id"], set())
                if rollup:
                    categories = {up for wc_id in categories for up in with_ancestors(wc_id)}
                for wc_id in categories:
                    orders[wc_id].add(order["id"])
                    units[wc_id] += item["quantity"]
                    revenue[wc_id] += Decimal(item["total"])
        return {wc_id: (names.get(wc_id), len(orders[wc_id]), units[wc_id], revenue[wc_id]) for wc_id in orders}
