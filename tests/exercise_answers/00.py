"""Wrong answers to chapter 00's exercise; its check must say ❌ for each."""

_LOADED = 'sb.run("migrate", "--verbosity", "0")\nsb.run("loaddata", "authors", "books")\n'

WRONG_ANSWERS: dict[str, str] = {
    "empty": "pass\n",
    # the right number, hard-coded: it does not follow the database
    "shortcut": _LOADED + 'sql = "SELECT 2"\n',
    # every book counted, not only his
    "mistake": _LOADED + 'sql = "SELECT COUNT(*) FROM books_book"\n',
    # the right query, but the books fixture never loaded
    "no_books": (
        'sb.run("migrate", "--verbosity", "0")\nsb.run("loaddata", "authors")\n'
        'sql = "SELECT COUNT(*) FROM books_book WHERE author_id = 2"\n'
    ),
}
