"""Wrong answers to chapter 03's exercise; its check must say ❌ for each."""

WRONG_ANSWERS: dict[str, str] = {
    "empty": "pass\n",
    # a merge migration: resolves the conflict, but the history is not a straight line
    "shortcut": 'sb.run("makemigrations", "books", "--merge", "--noinput")\nsb.run("migrate", "books")\n',
    # renamed to 0003, but still depending on 0001: two leaves remain
    "mistake": (
        'sb.rename("books/migrations/0002_book_rating.py", "books/migrations/0003_book_rating.py")\n'
        'sb.run("migrate", "books")\n'
    ),
}
