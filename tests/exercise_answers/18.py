"""Wrong answers to chapter 18's exercise (a test of split_names, the way back)."""

TEST = '''
sb.write("roster/test_exercise.py", \'\'\'
    from helpers.testing.migration_harness import MigrationTestCase

    class SplitNamesTests(MigrationTestCase):
        migrate_from = ("roster", "0004_remove_person_first_name_last_name")

        def test_split(self):
{body}
\'\'\')
'''

WRONG_ANSWERS: dict[str, str] = {
    # the placeholder test, failing with "write this test"
    "empty": "",
    # what the old check accepted: a test that tests nothing, with the words it looked for
    "shortcut": TEST.format(body="            pass  # migrate_backwards, Brewster Hopper"),
    # goes back, but only checks that the row survived: it passes whatever split_names does
    "mistake": TEST.format(body="""            Person = self.old_apps.get_model("roster", "Person")
            Person.objects.create(name="Grace Brewster Hopper")
            Person = self.migrate_backwards(("roster", "0002_person_name")).get_model("roster", "Person")
            self.assertEqual(Person.objects.count(), 1)"""),
    # expects a split at the last space: fails on the real migration
    "last_space": TEST.format(body="""            Person = self.old_apps.get_model("roster", "Person")
            Person.objects.create(name="Grace Brewster Hopper")
            Person = self.migrate_backwards(("roster", "0002_person_name")).get_model("roster", "Person")
            person = Person.objects.get()
            self.assertEqual((person.first_name, person.last_name), ("Grace Brewster", "Hopper"))"""),
    # no test method at all: nothing runs
    "no_tests": TEST.format(body="            pass").replace("def test_split", "def helper"),
}
