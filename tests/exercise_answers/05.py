"""Wrong answers to chapter 05's exercise (a forgotten cross-app dependency)."""

WRONG_ANSWERS: dict[str, str] = {
    # nothing done: migrate books still fails with "Related model 'authors.editor' cannot be resolved"
    "empty": "",
    # migrating everything happens to apply authors.0002 first here; a fresh database migrating
    # books alone still fails
    "shortcut": 'sb.run("migrate")',
    # a dependency on authors, but on the migration that does not create Editor
    "mistake": (
        'sb.edit("books/migrations/0002_book_editor.py", \'("books", "0001_initial")\',\n'
        '        \'("books", "0001_initial"), ("authors", "0001_initial")\')'
    ),
    # the right order by hand, the migration still unfixed
    "order_by_hand": 'sb.run("migrate", "authors")\nsb.run("migrate", "books")',
}
