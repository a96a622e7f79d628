from django.db import migrations


class Migration(migrations.Migration):
    """Drops a column that has a database default: restoring over it is what broke pg_restore --clean."""

    dependencies = [("garage", "0005_order_index_and_check")]
    operations = [migrations.RemoveField("vehicle", "mileage")]
