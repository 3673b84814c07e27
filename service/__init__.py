"""wcsync: keeps a tenant-isolated copy of WooCommerce stores in PostgreSQL."""
