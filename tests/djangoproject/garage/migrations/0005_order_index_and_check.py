from django.db import migrations, models


def seed(apps, schema_editor):
    """A data migration: every customer without an e-mail gets a placeholder."""
    Customer = apps.get_model("garage", "Customer")
    Customer.objects.filter(email="").update(email="unknown@example.invalid")


class Migration(migrations.Migration):
    dependencies = [("garage", "0004_remove_customer_phone")]
    operations = [
        migrations.AddIndex(
            "repairorder", models.Index(fields=["status", "opened"], name="garage_order_status_idx")
        ),
        migrations.AddConstraint(
            "repairorder",
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_positive"),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
