"""A small bookkeeping app with a long migration history (16 migrations).

It exists so that the kit's project has a realistic number of migrations: the
migration-test harness's benchmark (``benchmarks/migration_harness.py``) and
chapter 18 measure and show how testing a data migration scales with history.
"""

from django.db import models


class Currency(models.Model):
    code = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=50)

    def __str__(self):
        return self.code


class Tag(models.Model):
    name = models.CharField(max_length=30, unique=True)

    def __str__(self):
        return self.name


class Account(models.Model):
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=20, blank=True, default="")
    currency = models.ForeignKey(Currency, null=True, blank=True, on_delete=models.PROTECT)
    opened_on = models.DateField(null=True, blank=True)
    closed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=~models.Q(code=""), name="ledger_account_code_unique"
            )
        ]

    def __str__(self):
        return self.name


class Entry(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="entries")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    memo = models.CharField(max_length=200, blank=True, default="")
    booked_on = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=40, blank=True, default="")
    tags = models.ManyToManyField(Tag, blank=True)

    class Meta:
        ordering = ["booked_on", "id"]
        indexes = [models.Index(fields=["booked_on"], name="ledger_entry_booked_on_idx")]

    def __str__(self):
        return f"{self.account} {self.amount}"
