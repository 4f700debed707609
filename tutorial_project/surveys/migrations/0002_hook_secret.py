from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("surveys", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="HookSecret",
            fields=[
                ("name", models.CharField(max_length=50, primary_key=True, serialize=False)),
                ("key", models.CharField(max_length=100)),
            ],
        ),
        migrations.CreateModel(
            name="HookNonce",
            fields=[
                ("nonce", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("used_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
