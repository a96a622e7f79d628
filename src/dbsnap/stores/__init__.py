"""Stores: where snapshots live, over any fsspec filesystem, with dbsnap's commit protocol."""
