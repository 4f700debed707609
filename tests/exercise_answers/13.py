"""Wrong answers to chapter 13's exercise; its check must say ❌ for each."""

_MAKE = (
    'sb.run("make_data_migration", "members", "surname_first", "-m", "members.Person").check()\n'
    'path = "members/migrations/0005_surname_first.py"\n'
)
_FORWARDS = (
    'sb.edit(path, \'    raise NotImplementedError("Write forwards() in members/migrations/0005_surname_first.py")\',\n'
    '        """    for person in Person.objects.using(db_alias).all():\n'
    '        person.name = f"{person.last_name}, {person.first_name}"\n'
    '        person.save(update_fields=["name"])""")\n'
)

WRONG_ANSWERS: dict[str, str] = {
    "empty": "pass\n",
    # the rows changed in the database directly: no migration at all
    "shortcut": 'sb.query("UPDATE members_person SET name = last_name || \', \' || first_name")\n',
    # forwards written, backwards left as a no-op: unapplying leaves "Last, First"
    "mistake": _MAKE + _FORWARDS + (
        'sb.edit(path, \'    raise NotImplementedError("Write backwards() in members/migrations/0005_surname_first.py")\',\n'
        '        "    pass")\n'
        'sb.run("migrate", "members")\n'
    ),
}
