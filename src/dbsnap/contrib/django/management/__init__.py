"""Management commands of the dbsnap Django app."""
