"""Wrong answers to chapter 22's exercise (move ``d`` into a third partial ``Group3``).

Each value replaces the chapter's hidden solution cell; the check must then say ❌.
"""

_GROUP3 = '''
sb.edit("central/models.py", "\\n\\nclass Central(", """

class Group3(models.Model):
    group3_id = models.IntegerField(primary_key=True)
    d = models.DateField()


class Central(""")
sb.edit("central/models.py", "(BrokenDownModel, Group1, Group2)", "(BrokenDownModel, Group1, Group2, Group3)")
sb.edit("central/models.py", "    d = models.DateField()\\n\\n    def", "\\n    def")
'''

WRONG_ANSWERS: dict[str, str] = {
    # Nothing done: no central_group3.
    "empty": "",
    # The models edited and the link added, but plain makemigrations (it wants a default for
    # group3_ptr, and its file cannot load) instead of breakdown_migrations.
    "shortcut": _GROUP3
    + 'sb.edit("central/models.py", "    group2_ptr = VirtualParentLink(Group2)\\n", '
    '"    group2_ptr = VirtualParentLink(Group2)\\n    group3_ptr = VirtualParentLink(Group3)\\n")\n'
    'sb.run("makemigrations", "central")\nsb.run("migrate", "central")\n',
    # The new link written first, before the links earlier migrations added: refused.
    "mistake": _GROUP3
    + 'sb.edit("central/models.py", "    group1_ptr = VirtualParentLink(Group1)\\n", '
    '"    group3_ptr = VirtualParentLink(Group3)\\n    group1_ptr = VirtualParentLink(Group1)\\n")\n'
    'sb.run("breakdown_migrations", "central")\nsb.run("migrate", "central")\n',
}
