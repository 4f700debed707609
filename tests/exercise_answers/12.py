"""Wrong answers to chapter 12's exercise (a constraint whose migration every supported Django loads)."""

WRONG_ANSWERS: dict[str, str] = {
    # Nothing done: the database accepts an empty first name.
    "empty": "",
    # The constraint in models.py only: no migration, so the database still accepts it and
    # `makemigrations --check` finds a change to make.
    "shortcut": (
        "sb.edit(\"members/models.py\", 'name=\"has_last_name\")]',\n"
        "        'name=\"has_last_name\"),\\n                       "
        "models.CheckConstraint(condition=~models.Q(first_name=\"\"), name=\"has_first_name\")]')\n"
    ),
    # What this chapter used to teach: rewriting the new file with check= "for older Django".
    # Django 5.2 loads it with a RemovedInDjango60Warning; Django 6.0 and later cannot load it.
    "mistake": (
        "sb.edit(\"members/models.py\", 'name=\"has_last_name\")]',\n"
        "        'name=\"has_last_name\"),\\n                       "
        "models.CheckConstraint(condition=~models.Q(first_name=\"\"), name=\"has_first_name\")]')\n"
        "sb.run(\"makemigrations\", \"members\", \"--name\", \"has_first_name\").check()\n"
        "sb.edit(\"members/migrations/0005_has_first_name.py\", \"models.CheckConstraint(condition=\", "
        "\"models.CheckConstraint(check=\")\n"
        "sb.run(\"migrate\", \"members\")\n"
    ),
}
