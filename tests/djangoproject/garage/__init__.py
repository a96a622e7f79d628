"""The garage application's own tables: customers, vehicles and repair orders, after several migrations."""
