"""Wrong answers to chapter 16's exercise; its check must say ❌ for each."""

_REDUCE = '    def reduce(self, operation, app_label):\n'


def _reduce_starts_with(lines: str) -> str:
    """A cell that inserts ``lines`` at the top of ``CopyField.reduce``."""
    return f'sb.edit("books/operations.py", {_REDUCE!r}, {(_REDUCE + lines)!r})\n'


WRONG_ANSWERS: dict[str, str] = {
    "empty": "pass\n",
    # every RemoveField cancels the copy, even one of another field (or of the source)
    "shortcut": _reduce_starts_with("        if isinstance(operation, RemoveField):\n            return []\n"),
    # the field name is compared, the model is not: another model's field of the same name cancels it
    "mistake": _reduce_starts_with(
        "        if isinstance(operation, RemoveField) and operation.name == self.to_name:\n            return []\n"
    ),
    # the copy is dropped but the RemoveField is kept: the squash would remove a column it never added
    "keeps_the_removal": _reduce_starts_with(
        "        if isinstance(operation, RemoveField) and operation.name == self.to_name"
        " and self.references_model(operation.model_name, app_label):\n            return [operation]\n"
    ),
}
