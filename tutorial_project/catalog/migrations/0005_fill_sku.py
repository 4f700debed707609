# A hand-written data migration: give every product a SKU made from its id.
# It only matters to databases that had products before 0004; a fresh
# database has none, so squashing may drop it (elidable=True).

from django.db import migrations


def fill_sku(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    for product in Product.objects.filter(sku=""):
        product.sku = f"P{product.pk:05d}"
        product.save(update_fields=["sku"])


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0004_product_sku"),
    ]

    operations = [
        migrations.RunPython(fill_sku, migrations.RunPython.noop, elidable=True),
    ]
