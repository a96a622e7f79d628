"""The dbsnap test suite."""
