"""English formats where Django's differ from what every English reader reads one way.

Django's English short date is the United States' "08/01/2025", which most English readers
elsewhere read as 8 January. A month name is read the same way everywhere. The other
formats (and the other languages') stay Django's (FORMAT_MODULE_PATH falls back to them).
"""

SHORT_DATE_FORMAT = "j M Y"
SHORT_DATETIME_FORMAT = "j M Y H:i"
