from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("garage", "0002_repairorder")]
    operations = [
        migrations.AddField("vehicle", "mileage", models.PositiveIntegerField(db_default=0)),
        migrations.AddField("vehicle", "year", models.PositiveSmallIntegerField(null=True)),
    ]
