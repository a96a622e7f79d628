import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("garage", "0001_initial")]
    operations = [
        migrations.CreateModel(
            name="RepairOrder",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("opened", models.DateTimeField()),
                ("status", models.CharField(max_length=10, db_default="open")),
                ("total", models.DecimalField(decimal_places=2, default=0, max_digits=10)),
                ("notes", models.JSONField(default=dict)),
                (
                    "vehicle",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="garage.vehicle",
                    ),
                ),
            ],
        ),
    ]
