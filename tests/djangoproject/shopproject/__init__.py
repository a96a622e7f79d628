"""A minimal Django project standing in for the application dbsnap grew out of."""
