from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=200)
    price = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    sku = models.CharField(max_length=20, blank=True)

    def __str__(self):
        return self.name
