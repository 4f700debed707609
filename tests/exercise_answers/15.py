"""Wrong answers to chapter 15's exercise (a value object as a field default)."""

FIELD = '''
sb.edit("members/models.py", "import MaxLen, Money, NotBlank", "import Colour, MaxLen, Money, NotBlank")
sb.edit("members/models.py", "    class Meta:", '    colour = models.CharField(max_length=20, default=Colour("teal"))\\n\\n    class Meta:')
sb.run("makemigrations", "members", "--name", "person_colour")
'''

WRONG_ANSWERS: dict[str, str] = {
    "empty": "",
    # what the old check accepted: a plain string default, no Colour at all
    "shortcut": (
        'sb.edit("members/models.py", "    class Meta:", \'    colour = models.CharField(max_length=20, default="teal")\\n\\n    class Meta:\')\n'
        'sb.run("makemigrations", "members", "--name", "person_colour")'
    ),
    # @deconstructible without __eq__: written and read back, but not equal to Colour("teal")
    "mistake": (
        'sb.edit("members/values.py", "class Rules:", """@deconstructible\n'
        "class Colour:\n"
        "    def __init__(self, name):\n"
        "        self.name = name\n"
        "\n"
        "    def __str__(self):\n"
        "        return self.name\n"
        "\n"
        "\n"
        'class Rules:""")' + FIELD
    ),
    # __eq__ that is always true: every Colour equals every other
    "always_equal": (
        'sb.edit("members/values.py", "class Rules:", """@deconstructible\n'
        "class Colour:\n"
        "    def __init__(self, name):\n"
        "        self.name = name\n"
        "\n"
        "    def __eq__(self, other):\n"
        "        return True\n"
        "\n"
        "    def __hash__(self):\n"
        "        return 0\n"
        "\n"
        "\n"
        'class Rules:""")' + FIELD
    ),
    # no @deconstructible: makemigrations cannot write the default
    "not_deconstructible": (
        'sb.edit("members/values.py", "class Rules:", """class Colour:\n'
        "    def __init__(self, name):\n"
        "        self.name = name\n"
        "\n"
        "    def __eq__(self, other):\n"
        "        return isinstance(other, Colour) and self.name == other.name\n"
        "\n"
        "    def __hash__(self):\n"
        "        return hash(self.name)\n"
        "\n"
        "\n"
        'class Rules:""")' + FIELD
    ),
}
