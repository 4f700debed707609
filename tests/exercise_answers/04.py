"""Wrong answers to chapter 04's exercise; its check must say ❌ for each."""

_MIGRATION = '''
    from django.db import migrations, models


    def rate(apps, schema_editor):
        apps.get_model("books", "Book").objects.update(rating=3)


    class Migration(migrations.Migration):
{atomic}        dependencies = [("books", "0003_fill_pages")]
        operations = [
            migrations.AddField("book", "rating", models.IntegerField(null=True)),
            migrations.RunPython(rate, migrations.RunPython.noop{run_atomic}),
        ]
'''


def _answer(atomic: str, run_atomic: str) -> str:
    text = _MIGRATION.format(atomic=atomic, run_atomic=run_atomic)
    return f'sb.write("books/migrations/0004_book_rating.py", {text!r})\nsb.run("migrate", "books")\n'


WRONG_ANSWERS: dict[str, str] = {
    "empty": "pass\n",
    # the migration of the hint written and applied, but left atomic as Django makes it
    "shortcut": _answer("", ""),
    # non-atomic migration, but the RunPython left without a transaction of its own
    "mistake": _answer("        atomic = False\n", ""),
}
