"""Wrong answers to chapter 06's exercise (make 0004_cleanup reversible, then reverse to 0003)."""

_FIX_SQL = (
    'sb.edit("books/migrations/0004_cleanup.py", "SET isbn = \'unknown\'\\")", '
    '"SET isbn = \'unknown\'\\", migrations.RunSQL.noop)")\n'
)
_FIX_PYTHON = (
    'sb.edit("books/migrations/0004_cleanup.py", "RunPython(shout)", '
    '"RunPython(shout, migrations.RunPython.noop)")\n'
)

WRONG_ANSWERS: dict[str, str] = {
    # nothing done: 0004_cleanup is still irreversible and applied
    "empty": "",
    # the records say 0003, the migration is still irreversible and nothing was reversed
    "shortcut": 'sb.run("migrate", "books", "0003", "--fake")',
    # only the RunSQL made reversible: the RunPython still raises IrreversibleError
    "mistake": _FIX_SQL + 'sb.run("migrate", "books", "0003")',
    # both made reversible, but the rollback never run
    "not_reversed": _FIX_SQL + _FIX_PYTHON,
    # both made reversible, the rollback faked: the records say 0003, books_book has no pages column
    "fixed_then_faked": _FIX_SQL + _FIX_PYTHON + 'sb.run("migrate", "books", "0003", "--fake")',
}
