"""The sandbox hides Python's frozen importlib frames in tracebacks, as it hides Django's."""

from helpers.notebook.sandbox import condense_tracebacks

TRACEBACK = '''Traceback (most recent call last):
  File "<sandbox>/manage.py", line 23, in <module>
    main()
  File "<site-packages>/django/core/management/__init__.py", line 442, in execute_from_command_line
    utility.execute()
  File "<frozen importlib._bootstrap>", line 1204, in _gcd_import
  File "<frozen importlib._bootstrap_external>", line 940, in exec_module
  File "<sandbox>/members/migrations/0002_x.py", line 17, in Migration
    field=members.fields.NameField(blank=True),
TypeError: boom
'''


def test_frozen_importlib_frames_are_condensed_with_djangos():
    out = condense_tracebacks(TRACEBACK)
    assert "frozen" not in out
    assert "  [... 3 frames in Django and Python ...]" in out
    assert '  File "<sandbox>/members/migrations/0002_x.py", line 17, in Migration' in out
    assert out.endswith("TypeError: boom\n")
