from django.conf import settings
from django.db import models


class Feature(models.Model):
    name = models.CharField(max_length=40, unique=True)

    def __str__(self):
        return self.name


class Car(models.Model):
    name = models.CharField("brand name", max_length=40)
    color = models.CharField(max_length=40)
    features = models.ManyToManyField(Feature, blank=True)

    class Meta:
        verbose_name_plural = "cars"

    def __str__(self):
        return self.name


class Rental(models.Model):
    car = models.ForeignKey(Car, on_delete=models.CASCADE)
    customer = models.CharField(max_length=60)

    def __str__(self):
        return f"{self.customer}: {self.car}"


class Employee(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    position = models.CharField(max_length=40)

    def __str__(self):
        return self.position
