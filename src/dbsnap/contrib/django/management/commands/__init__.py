"""create_backup and restore_backup."""
