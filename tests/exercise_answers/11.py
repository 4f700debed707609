"""Wrong answers to chapter 11's exercise; its check must say ❌ for each."""

_FILE = "members/migrations/0006_team.py"

WRONG_ANSWERS: dict[str, str] = {
    "empty": "pass\n",
    # the mixin dropped from bases: loads again, but the history no longer has it
    "shortcut": f'sb.edit("{_FILE}", "bases=(members.models.Slugged, models.Model)", "bases=(models.Model,)")\n',
    # the class copied into the migration, but bases still names members.models.Slugged
    "mistake": (
        f'sb.edit("{_FILE}", "class Migration(migrations.Migration):",\n'
        '        "class Slugged:\\n    pass\\n\\n\\nclass Migration(migrations.Migration):")\n'
    ),
    # the mixin put back into models.py
    "mixin_back": (
        'sb.edit("members/models.py", "class Team(models.Model):", "class Slugged:\\n'
        '    def slug(self):\\n        return self.name.lower()\\n\\n\\nclass Team(Slugged, models.Model):")\n'
    ),
}
