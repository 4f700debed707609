"""Wrong answers to chapter 01's exercise; its check must say ❌ for each."""

WRONG_ANSWERS: dict[str, str] = {
    "empty": "pass\n",
    # a migration with the right name but no operation: nothing unique in the database
    "shortcut": (
        'sb.run("makemigrations", "authors", "--empty", "--name", "author_name_unique")\n'
        'sb.run("migrate", "authors")\n'
    ),
    # the model edited and the migration made, but never applied
    "mistake": (
        'sb.edit("authors/models.py", "name = models.CharField(max_length=100)",\n'
        '        "name = models.CharField(max_length=100, unique=True)")\n'
        'sb.run("makemigrations", "authors", "--name", "author_name_unique")\n'
    ),
}
