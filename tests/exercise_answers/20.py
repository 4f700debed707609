"""Wrong answers to chapter 20's exercise (version 4 of the demo model with a `score` column).

Each value is run in place of the hidden solution cell; the check must then say ❌.
"""

WRONG_ANSWERS: dict[str, str] = {
    # nothing done
    "empty": "",
    # the table only: the admin still holds version 3's class, no score column in the changelist
    "shortcut": (
        'v4 = ModelSpec("surveys", "response_demo", "surveys_response_demo",\n'
        '               (*v3.fields, FieldSpec("4", "score", "decimal")))\n'
        "apply_schema(v3, v4)\n"
    ),
    # the admin only: the class selects a score column the table does not have (the page fails)
    "mistake": (
        'v4 = ModelSpec("surveys", "response_demo", "surveys_response_demo",\n'
        '               (*v3.fields, FieldSpec("4", "score", "decimal")))\n'
        "refresh_admin(admin.site, [cache.get(v4)])\n"
    ),
    # registered without reloading the URLconf: the cached patterns still call the old ModelAdmin
    "no_urlconf_reload": (
        'v4 = ModelSpec("surveys", "response_demo", "surveys_response_demo",\n'
        '               (*v3.fields, FieldSpec("4", "score", "decimal")))\n'
        "apply_schema(v3, v4)\n"
        'unregister_by_table(admin.site, "surveys_response_demo")\n'
        "admin.site.register(cache.get(v4))\n"
    ),
}
