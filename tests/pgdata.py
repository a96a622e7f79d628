"""A PostgreSQL test database with the awkward parts real ones have, and a fingerprint to compare."""

from __future__ import annotations

from typing import Any

SCHEMA = """
CREATE SCHEMA billing;
CREATE SCHEMA "Ünïcode schema";
CREATE SEQUENCE billing.invoice_no START 1000;
CREATE TABLE public.customers (
    id bigserial PRIMARY KEY, name text NOT NULL, city text, notes jsonb, created timestamptz DEFAULT now()
);
CREATE TABLE billing.invoices (
    id bigint PRIMARY KEY DEFAULT nextval('billing.invoice_no'),
    customer_id bigint REFERENCES public.customers(id), amount numeric(12, 2), attachment oid
);
CREATE TABLE "Ünïcode schema"."Tâble with spaces" (k text PRIMARY KEY, v text);
CREATE TABLE public.events (id bigint PRIMARY KEY, kind text, payload text);
CREATE VIEW public.customer_totals AS
    SELECT c.id, c.name, sum(i.amount) AS total FROM public.customers c
    LEFT JOIN billing.invoices i ON i.customer_id = c.id GROUP BY c.id, c.name;
"""

DATA = """
INSERT INTO public.customers (name, city, notes)
    SELECT 'Kunde ' || g, (ARRAY['Zürich', 'Kraków', 'São Paulo', '東京', 'Reykjavík'])[1 + g % 5],
           jsonb_build_object('n', g, 'tags', jsonb_build_array('ä', 'ß', '✓'))
    FROM generate_series(1, 2000) g;
INSERT INTO billing.invoices (customer_id, amount, attachment)
    SELECT 1 + g % 2000, (g * 7919 % 100000) / 100.0,
           CASE WHEN g % 500 = 0 THEN lo_from_bytea(0, convert_to(repeat('attachment ' || g, 50), 'UTF8')) END
    FROM generate_series(1, 5000) g;
INSERT INTO "Ünïcode schema"."Tâble with spaces" VALUES ('ключ', 'значение'), ('鍵', '値'), ('emoji', '🐘');
INSERT INTO public.events SELECT g, 'kind ' || (g % 17), md5(g::text) FROM generate_series(1, {rows}) g;
SELECT setval('public.customers_id_seq', 5000);
"""


def build(conn: Any, rows: int = 300_000) -> None:
    """Create the schemas, tables, sequences, view, large objects and rows in an empty database."""
    conn.execute(SCHEMA)
    conn.execute(DATA.format(rows=rows))


def fingerprint(conn: Any) -> dict[str, Any]:
    """Checksums of every table's rows, sequence values, view definitions and large objects."""
    result: dict[str, Any] = {}
    tables = conn.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    ).fetchall()
    for schema, table in tables:
        ident = f'"{schema}"."{table}"'
        row = conn.execute(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {ident} t"
        ).fetchone()
        result[f"table {schema}.{table}"] = tuple(row)
    for schema, name in conn.execute(
        "SELECT sequence_schema, sequence_name FROM information_schema.sequences ORDER BY 1, 2"
    ).fetchall():
        result[f"sequence {schema}.{name}"] = tuple(
            conn.execute(f'SELECT last_value, is_called FROM "{schema}"."{name}"').fetchone()
        )
    for schema, name, definition in conn.execute(
        "SELECT schemaname, viewname, definition FROM pg_views "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    ).fetchall():
        result[f"view {schema}.{name}"] = definition
    result["large objects"] = conn.execute(
        "SELECT coalesce(string_agg(md5(lo_get(oid)), ',' ORDER BY oid), '') FROM pg_largeobject_metadata"
    ).fetchone()[0]
    return result
