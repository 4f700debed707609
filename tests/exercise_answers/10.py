"""Wrong answers to chapter 10's exercise (a manager for RunPython, a new keyword argument)."""

STRIP_FIELD = '''
sb.edit("members/fields.py", 'case="title", **kwargs):', 'case="title", strip=True, **kwargs):\\n        self.strip = strip')
sb.edit("members/fields.py", "        value = super().get_prep_value(value)\\n",
        "        value = super().get_prep_value(value)\\n        value = value.strip() if value and self.strip else value\\n")
sb.edit("members/models.py", 'NameField(blank=True, case="upper")', 'NameField(blank=True, case="upper", strip=False)')
'''
DECONSTRUCT = '''
sb.edit("members/fields.py", "        return name, path, args, kwargs",
        "        if not self.strip:\\n            kwargs['strip'] = False\\n        return name, path, args, kwargs")
'''

WRONG_ANSWERS: dict[str, str] = {
    "empty": "",
    # what the old check accepted: the data migration faked (never run), and "strip=False"
    # written into a migration file as text
    "shortcut": (
        'sb.run("migrate", "members", "--fake")\n'
        'sb.edit(path, "from django.db import migrations", "from django.db import migrations  # strip=False")'
    ),
    # the obvious way: the manager recorded by a new 0006, after the 0005 that needs it, so
    # migrate still fails; the keyword argument part done right
    "mistake": (
        'sb.edit("members/models.py", "    pass\\n", "    use_in_migrations = True\\n")\n'
        'sb.run("makemigrations", "members", "--name", "person_manager")\n'
        'sb.run("migrate", "members")\n' + STRIP_FIELD + DECONSTRUCT
        + 'sb.run("makemigrations", "members", "--name", "nickname_no_strip")\n'
    ),
    # manager part right, but deconstruct() does not return strip: no migration records it
    "no_deconstruct": (
        'sb.edit("members/models.py", "    pass\\n", "    use_in_migrations = True\\n")\n'
        'sb.run("makemigrations", "members", "--name", "person_manager").check()\n'
        'sb.rename("members/migrations/0006_person_manager.py", "members/migrations/0004_person_manager.py")\n'
        'sb.edit("members/migrations/0004_person_manager.py", "(\'members\', \'0005_count_t\')", "(\'members\', \'0003_nickname_upper\')")\n'
        'sb.edit(path, "(\'members\', \'0003_nickname_upper\')", "(\'members\', \'0004_person_manager\')")\n'
        'sb.run("migrate", "members").check()\n' + STRIP_FIELD
        + 'sb.run("makemigrations", "members", "--name", "nickname_no_strip")\n'
    ),
}
