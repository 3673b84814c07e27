"""Synthetic WooCommerce stores, in the shape WooCommerce's REST API v3 returns.

Everything is derived from a seed, so every run of the benchmark sends the
same bytes. Records carry the fields the service stores and, like real
WooCommerce responses the plugin forwards, some it drops (descriptions,
images, addresses): they cost parsing, not storage.

    category_tree(count, seed)           3 levels: ~5% top, ~25% middle, the rest leaves
    products(count, tree, seed)          1-3 categories each, [{id, name, slug}]
    customers(count, seed)               each with a unique email
    orders(count, products, customers, seed)   1-5 line items, registered or guest, any status
"""

import random

ADJECTIVES = [
    "Blue",
    "Organic",
    "Classic",
    "Compact",
    "Deluxe",
    "Vintage",
    "Smart",
    "Rugged",
    "Silk",
    "Bamboo",
    "Cotton",
    "Steel",
    "Wireless",
    "Ceramic",
    "Leather",
    "Linen",
]
NOUNS = [
    "Widget",
    "Mug",
    "Lamp",
    "Backpack",
    "Scarf",
    "Kettle",
    "Speaker",
    "Notebook",
    "Chair",
    "Candle",
    "Jacket",
    "Teapot",
    "Wallet",
    "Blanket",
    "Bottle",
    "Planter",
]
FIRST_NAMES = [
    "Anna",
    "Ben",
    "Chloe",
    "David",
    "Emma",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Keiko",
    "Liam",
    "Maria",
    "Noah",
    "Olga",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
]
LAST_NAMES = [
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Silva",
    "Jensen",
    "Novak",
    "Ivanova",
    "Tanaka",
    "O'Brien",
    "Nguyen",
    "Cohen",
    "Larsen",
    "Fischer",
]
CITIES = ["Berlin", "Lyon", "Porto", "Leeds", "Gdańsk", "Aarhus", "Graz", "Bologna"]
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
]


def slugify(text):
    return "-".join(text.lower().replace("'", "").split())


def sentence(rng, words):
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def gmt(rng, year_from, year_to):
    """A WooCommerce *_gmt timestamp: ISO 8601 without an offset."""
    return (
        f"{rng.randint(year_from, year_to)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        f"T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    )


def category_tree(count, seed):
    """count categories in a 3-level tree, in WooCommerce's default order (by name).

    So a child may come before its parent, as it does from WooCommerce.
    """
    rng = random.Random(f"categories-{seed}")
    top = max(1, count * 5 // 100)
    middle = max(1, count * 25 // 100) if count > top else 0
    tree = []
    for wc_id in range(1, count + 1):
        if wc_id <= top:
            parent, level = 0, "Department"
        elif wc_id <= top + middle:
            parent, level = rng.randint(1, top), "Range"
        else:
            parent, level = rng.randint(top + 1, top + middle), "Line"
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}s {level} {wc_id}"
        tree.append(
            {
                "id": wc_id,
                "name": name,
                "slug": slugify(name),
                "parent": parent,
                "description": sentence(rng, 12),
                "display": "default",
                "image": None,
                "menu_order": 0,
                "count": rng.randint(0, 400),
            }
        )
    tree.sort(key=lambda category: category["name"])
    return tree


def products(count, tree, seed):
    """count products, each in 1-3 of the tree's categories (leaves mostly)."""
    rng = random.Random(f"products-{seed}")
    leaves = [category for category in tree if category["name"].split()[-2] == "Line"] or tree
    products = []
    for wc_id in range(1, count + 1):
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {wc_id}"
        slug = slugify(name)
        regular = rng.uniform(2, 500)
        on_sale = rng.random() < 0.2
        price = regular * 0.8 if on_sale else regular
        in_categories = rng.sample(leaves, min(len(leaves), rng.randint(1, 3)))
        stock = rng.randint(-5, 500)
        created = gmt(rng, 2019, 2024)
        products.append(
            {
                "id": wc_id,
                "name": name,
                "slug": slug,
                "permalink": f"https://store{seed}.example/product/{slug}/",
                "date_created_gmt": created,
                "date_modified_gmt": gmt(rng, 2025, 2026),
                "type": rng.choice(["simple", "simple", "simple", "variable"]),
                "status": "publish",
                "featured": False,
                "catalog_visibility": "visible",
                "description": " ".join(sentence(rng, 14) for _ in range(rng.randint(2, 6))),
                "short_description": sentence(rng, 10),
                "sku": f"S{seed}-{wc_id:06d}",
                "price": f"{price:.2f}",
                "regular_price": f"{regular:.2f}",
                "sale_price": f"{price:.2f}" if on_sale else "",
                "on_sale": on_sale,
                "total_sales": rng.randint(0, 2000),
                "manage_stock": True,
                "stock_quantity": stock,
                "stock_status": "instock" if stock > 0 else "onbackorder",
                "backorders": "notify",
                "weight": f"{rng.uniform(0.1, 5):.1f}",
                "dimensions": {
                    "length": str(rng.randint(5, 60)),
                    "width": str(rng.randint(5, 60)),
                    "height": str(rng.randint(1, 40)),
                },
                "categories": [{"id": c["id"], "name": c["name"], "slug": c["slug"]} for c in in_categories],
                "tags": [],
                "images": [
                    {
                        "id": 10_000 + wc_id,
                        "src": f"https://store{seed}.example/img/{slug}.jpg",
                        "name": slug,
                        "alt": name,
                    }
                ],
                "attributes": [],
                "meta_data": [],
            }
        )
    return products


def address(rng, first, last):
    return {
        "first_name": first,
        "last_name": last,
        "company": "",
        "address_1": f"{rng.randint(1, 200)} {rng.choice(LAST_NAMES)} Street",
        "address_2": "",
        "city": rng.choice(CITIES),
        "state": "",
        "postcode": f"{rng.randint(10000, 99999)}",
        "country": rng.choice(["DE", "FR", "PT", "GB", "PL", "DK", "AT", "IT"]),
    }


def customers(count, seed):
    """count customers with unique emails; most have ordered."""
    rng = random.Random(f"customers-{seed}")
    customers = []
    for wc_id in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{first}.{slugify(last)}{wc_id}@mail{seed}.example".lower()
        orders = rng.choice([0, 1, 1, 2, 3, 5, 8, 13])
        customer = {
            "id": wc_id,
            "date_created_gmt": gmt(rng, 2018, 2024),
            "date_modified_gmt": gmt(rng, 2025, 2026),
            "email": email,
            "first_name": first,
            "last_name": last,
            "role": "customer",
            "username": email.partition("@")[0],
            "display_name": f"{first} {last}",
            "billing": {
                **address(rng, first, last),
                "email": email,
                "phone": f"+49 30 {rng.randint(1000000, 9999999)}",
            },
            "shipping": address(rng, first, last),
            "is_paying_customer": orders > 0,
            "avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm",
            "total_spent": f"{orders * rng.uniform(10, 150):.2f}",
            "order_count": orders,
            "meta_data": [],
        }
        if orders:
            customer["first_order_date"] = gmt(rng, 2019, 2024) + "Z"
            customer["last_order_date"] = gmt(rng, 2025, 2026) + "Z"
        customers.append(customer)
    return customers


STATUSES = [
    "processing",
    "completed",
    "completed",
    "completed",
    "pending",
    "on-hold",
    "cancelled",
    "refunded",
    "failed",
]


def orders(count, products, customers, seed):
    """count orders of 1-5 line items each, of the store's products 1..products; a third by guests,
    the rest by its customers 1..customers (0: all guests). Addresses, phones and IPs as
    WooCommerce sends them: the service must drop them."""
    rng = random.Random(f"orders-{seed}")
    orders = []
    for wc_id in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        customer_id = rng.randint(1, customers) if customers and rng.random() < 0.67 else 0
        email = f"{first}.{slugify(last)}{customer_id or wc_id}@mail{seed}.example".lower()
        items = []
        for position in range(rng.randint(1, 5)):
            quantity, price = rng.randint(1, 4), rng.uniform(2, 200)
            items.append(
                {
                    "id": wc_id * 10 + position,
                    "name": f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
                    "product_id": rng.randint(1, products),
                    "variation_id": 0,
                    "quantity": quantity,
                    "tax_class": "",
                    "subtotal": f"{price * quantity:.2f}",
                    "subtotal_tax": "0.00",
                    "total": f"{price * quantity:.2f}",
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [],
                    "sku": "",
                    "price": round(price, 2),
                    "image": {"id": "", "src": ""},
                    "parent_name": None,
                }
            )
        total = sum(float(item["total"]) for item in items)
        created, status = gmt(rng, 2023, 2026), rng.choice(STATUSES)
        orders.append(
            {
                "id": wc_id,
                "parent_id": 0,
                "status": status,
                "currency": "EUR",
                "version": "8.5.1",
                "prices_include_tax": False,
                "date_created_gmt": created,
                "date_modified_gmt": created,
                "discount_total": "0.00",
                "discount_tax": "0.00",
                "shipping_total": "4.90",
                "shipping_tax": "0.00",
                "cart_tax": "0.00",
                "total": f"{total + 4.9:.2f}",
                "total_tax": "0.00",
                "customer_id": customer_id,
                "order_key": f"wc_order_{seed}_{wc_id}",
                "billing": {
                    **address(rng, first, last),
                    "email": email,
                    "phone": f"+49 30 {rng.randint(1000000, 9999999)}",
                },
                "shipping": address(rng, first, last),
                "payment_method": "stripe",
                "payment_method_title": "Card",
                "transaction_id": f"pi_{seed}_{wc_id}",
                "customer_ip_address": f"203.0.113.{rng.randint(1, 254)}",
                "customer_user_agent": "Mozilla/5.0",
                "customer_note": "",
                "date_paid_gmt": created if status in ("processing", "completed") else None,
                "date_completed_gmt": created if status == "completed" else None,
                "line_items": items,
                "tax_lines": [],
                "shipping_lines": [],
                "fee_lines": [],
                "coupon_lines": [],
                "refunds": [],
                "meta_data": [],
            }
        )
    return orders
