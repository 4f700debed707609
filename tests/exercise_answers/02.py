"""Wrong answers to chapter 02's exercise (a non-atomic migration that failed half-way)."""

FIX = 'sb.edit("books/migrations/0004_subtitle.py", "book.name.upper()", "book.title.upper()")\n'

WRONG_ANSWERS: dict[str, str] = {
    "empty": "",
    # recorded as applied without running: the column is there, the subtitles are empty
    "shortcut": 'sb.run("migrate", "books", "--fake")',
    # the function fixed, the half-applied column left in place: the rerun fails on AddField
    "mistake": FIX + 'sb.run("migrate", "books")',
    # the column kept and the AddField deleted from the migration: applied and filled, but the
    # migrations no longer build the subtitle field that models.py has
    "addfield_deleted": FIX + (
        'sb.edit("books/migrations/0004_subtitle.py", '
        '\'migrations.AddField("book", "subtitle", models.CharField(max_length=200, null=True)),\', "")\n'
        'sb.run("migrate", "books")'
    ),
    # the old exercise's answer: nothing but naming the sandbox
    "old_answer": "box = sb",
}
