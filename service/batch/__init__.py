"""A batch before the database: its body read, its records checked against their entity's definition
(ENTITIES) and serialised for the SQL function."""
