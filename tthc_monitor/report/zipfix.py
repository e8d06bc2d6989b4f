"""Byte-identical Office files: rewrite a zip package with fixed entry times.

openpyxl and python-docx stamp every zip entry with the time of saving, so two exports of
one snapshot would differ. Rewriting the package with a fixed date (and fixed permission
bits) keeps the member order and contents and makes the bytes a function of the input.
"""

from __future__ import annotations

import io
import zipfile

__all__ = ["FIXED_ZIP_TIME", "normalize_zip"]

# The earliest time a zip entry can carry (MS-DOS epoch).
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def normalize_zip(data: bytes) -> bytes:
    """The same package with every entry dated `FIXED_ZIP_TIME` and mode 0644."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            fixed.create_system = 0
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()
