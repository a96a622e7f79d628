"""The Django app: add "dbsnap.contrib.django" to INSTALLED_APPS for create_backup and restore_backup."""
