"""The garage models as of the last migration (0006)."""

from django.db import models


class Customer(models.Model):
    """A customer of the garage."""

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)


class Vehicle(models.Model):
    """A vehicle brought in by a customer."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="vehicles")
    plate = models.CharField(max_length=20, unique=True)
    make = models.CharField(max_length=50)
    year = models.PositiveSmallIntegerField(null=True)


class RepairOrder(models.Model):
    """Work done on a vehicle."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="orders")
    opened = models.DateTimeField()
    status = models.CharField(max_length=10, db_default="open")
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    notes = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["status", "opened"], name="garage_order_status_idx")]
        constraints = [models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_positive")]
