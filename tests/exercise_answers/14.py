"""Wrong answers to chapter 14's exercise; its check must say ❌ for each."""

_SQUASH = (
    'sb.run("squashmigrations", "catalog", "0007", "--squashed-name", "catalog_v2", "--noinput").check()\n'
    'sb.run("migrate", "catalog").check()\n'
)
_DELETE = (
    'sb.delete("catalog/migrations/0001_squashed_0006_delete_tag.py")\n'
    'sb.delete("catalog/migrations/0007_alter_product_name.py")\n'
)

WRONG_ANSWERS: dict[str, str] = {
    "empty": "pass\n",
    # squashed and applied, but not transitioned: the old files stay
    "shortcut": _SQUASH,
    # old files deleted and pruned, but `replaces` left in the new migration
    "mistake": _SQUASH + _DELETE + 'sb.run("migrate", "catalog", "--prune")\n',
    # transitioned, but never pruned: django_migrations keeps the old names
    "no_prune": _SQUASH + _DELETE + (
        'v2 = "catalog/migrations/0001_catalog_v2.py"\n'
        'sb.write(v2, "\\n".join(l for l in sb.read(v2).splitlines() if "replaces = " not in l) + "\\n")\n'
    ),
}
