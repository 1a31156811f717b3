"""CSV exports that are safe to open in a spreadsheet.

A cell starting with = + - @ (or a tab or carriage return before one) is a formula to Excel,
LibreOffice and Google Sheets, so a student named `=HYPERLINK(...)` could run one on a teacher's
machine. Such cells are written with a leading apostrophe, which spreadsheets show as text and
hide; `spreadsheet_unescape` undoes it when a file of ours is imported again.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """The cell value, with an apostrophe in front if a spreadsheet would run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_unescape(value: str) -> str:
    """Undo `spreadsheet_safe` on a cell read back from one of our exports."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
