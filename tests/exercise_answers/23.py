"""Wrong answers to chapter 23's exercise (move Employee to newapp, keeping both rows)."""

CUT = '''
old = sb.read("oldapp/models.py")
employee_class = old[old.index("class Employee("):]
sb.write("oldapp/models.py", old.replace(employee_class, "").rstrip() + "\\n")
new = sb.read("newapp/models.py")
sb.write("newapp/models.py", "from django.conf import settings\\n" + new + "\\n\\n" + employee_class)
'''

WRONG_ANSWERS: dict[str, str] = {
    # nothing done: the employees are still in oldapp_employee
    "empty": "",
    # plain makemigrations: DeleteModel + CreateModel, so newapp_employee exists but is empty
    "shortcut": CUT + 'print(sb.run("makemigrations"))\nprint(sb.run("migrate", "-v0"))\n',
    # the migrations written, never applied: the table is still oldapp_employee
    "mistake": CUT + 'print(sb.run("move_model", "oldapp.Employee", "newapp"))\n',
    # copied instead of cut (the clash silenced with related_name="+"): move_model refuses
    "copied": (
        'old = sb.read("oldapp/models.py")\n'
        'employee_class = old[old.index("class Employee("):]\n'
        'sb.write("newapp/models.py", "from django.conf import settings\\n" + sb.read("newapp/models.py")'
        ' + "\\n\\n" + employee_class)\n'
        'sb.edit("oldapp/models.py", "on_delete=models.CASCADE)\\n    position",'
        ' \'on_delete=models.CASCADE, related_name="+")\\n    position\')\n'
        'print(sb.run("move_model", "oldapp.Employee", "newapp"))\nprint(sb.run("migrate", "-v0"))\n'
    ),
}
