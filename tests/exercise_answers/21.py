"""Wrong answers to chapter 21's exercise (another process renames `email` to `contact`, then a
response with rating 5 and contact bo@example.com is submitted to worker 2).

Each value is run in place of the hidden solution cell; the check must then say ❌.
"""

WRONG_ANSWERS: dict[str, str] = {
    # nothing done
    "empty": "",
    # the column renamed behind Django's back: no definition changed, no stamp moved, so the
    # workers' classes still select `email` (their changelists fail, the submit too)
    "shortcut": (
        'sb.shell("""\n'
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        '    cursor.execute("ALTER TABLE surveys_response_feedback RENAME COLUMN email TO contact")\n'
        '""").check()\n'
        'w2.post("/surveys/feedback/submit/", {"rating": "5", "contact": "bo@example.com"})\n'
    ),
    # submitted before the rename: the worker's class has no `contact` yet, so the answer is lost
    "mistake": (
        'w2.post("/surveys/feedback/submit/", {"rating": "5", "contact": "bo@example.com"})\n'
        'sb.shell("""\n'
        "from surveys.models import Question\n"
        'question = Question.objects.get(name="email")\n'
        'question.name = "contact"\n'
        "question.save()\n"
        '""").check()\n'
    ),
    # the rename done, but the answer sent under the old field name
    "old_field_name": (
        'sb.shell("""\n'
        "from surveys.models import Question\n"
        'question = Question.objects.get(name="email")\n'
        'question.name = "contact"\n'
        "question.save()\n"
        '""").check()\n'
        'w2.post("/surveys/feedback/submit/", {"rating": "5", "email": "bo@example.com"})\n'
    ),
}
