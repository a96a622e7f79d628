"""Drivers: one module per kind of database, chosen by the database URL's scheme."""
