from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("garage", "0003_vehicle_mileage_year")]
    operations = [migrations.RemoveField("customer", "phone")]
