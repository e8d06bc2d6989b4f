"""What the signed report's heading and ending print: issuing body, symbol, place, signer.

Nghị định 30/2020/NĐ-CP (Phụ lục I) fixes where these go; which body issues the report, its
parent, the document's symbol and who signs are a province's own. They are read from the
report profile's optional `document` object; every field left out is derived from the
profile's `province` and `issuer`, so a province that writes no `document` still gets a
heading that names its own bodies (nothing here names a province).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

__all__ = ["DocumentFields", "DocumentSpec", "document_fields", "symbol_initials"]


class DocumentSpec(BaseModel):
    """The profile's `document` object; `None` fields are derived (see `document_fields`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parent_body: str | None = None  # "UBND tỉnh Quảng Trị": the issuing body's parent
    body: str | None = None  # "Trung tâm Phục vụ hành chính công"
    symbol: str | None = None  # "BC-TTPVHCC": document kind, then the body's initials
    place: str | None = None  # "Quảng Trị": the place name of the date line
    signer_position: str = "Giám đốc"
    signer_authority: str | None = None  # "KT." or "TL." when someone signs on behalf
    signer_deputy_position: str | None = None  # "Phó Giám đốc", printed under the authority
    signer_name: str | None = None  # None: a blank line the signer's name is written on
    recipients: tuple[str, ...] = ("UBND tỉnh (b/c);", "Văn phòng UBND tỉnh;")
    archive: str = "VT"  # "- Lưu: VT, <drafting unit>, <copies>." (the rest is written in)


@dataclass(frozen=True)
class DocumentFields:
    """The resolved text of the heading and ending, as printed (before upper-casing)."""

    parent_body: str
    body: str
    symbol: str
    place: str
    signer_position: str
    signer_authority: str | None
    signer_deputy_position: str | None
    signer_name: str | None
    recipients: tuple[str, ...]
    archive: str


def symbol_initials(name: str) -> str:
    """`Trung tâm Phục vụ hành chính công` -> `TTPVHCC`: the abbreviation Nghị định 30 builds
    from the initial of each word of the issuing body's name."""
    return "".join(word[0].upper() for word in name.split() if word[0].isalpha())


def _strip_place(issuer: str, province: str) -> str:
    """The issuer's name without its trailing "tỉnh <province>": the parent line above it
    already says which province, as the printed heading does."""
    for suffix in (f" tỉnh {province}", f" {province}"):
        if issuer.endswith(suffix):
            return issuer[: -len(suffix)].rstrip(" ,")
    return issuer


def document_fields(spec: DocumentSpec | None, *, province: str, issuer: str) -> DocumentFields:
    spec = spec or DocumentSpec()
    body = spec.body or _strip_place(issuer, province)
    return DocumentFields(
        parent_body=spec.parent_body or f"UBND tỉnh {province}",
        body=body,
        symbol=spec.symbol or f"BC-{symbol_initials(body)}",
        place=spec.place or province,
        signer_position=spec.signer_position,
        signer_authority=spec.signer_authority,
        signer_deputy_position=spec.signer_deputy_position,
        signer_name=spec.signer_name,
        recipients=spec.recipients,
        archive=spec.archive,
    )
