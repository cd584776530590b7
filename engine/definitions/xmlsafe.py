"""Parse untrusted XML (uploaded BPMN) without DTDs, entities or network access.

A document type declaration is refused before lxml sees the bytes, so neither entity
expansion ("billion laughs") nor external entities (`SYSTEM "file:///etc/passwd"`,
http URLs) can be processed; the parser is also configured to resolve nothing, and the
parsed tree is checked once more for a DTD.
"""

from __future__ import annotations

import codecs
import io
import re

from lxml import etree

from engine.errors import DefinitionError, Finding

# `<!DOCTYPE` and `<!ENTITY` are only meaningful in a DTD; XML keywords are upper case
# but libxml2 error recovery is not something to rely on, so match any case.
_DTD_MARKUP = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)\b", re.IGNORECASE)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _make_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=False,
        remove_comments=False,
    )


def _as_text(data: bytes) -> str:
    """Decode just enough to look for DTD markup, whatever the document's encoding."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom):].decode(encoding, errors="replace")
    head = data[:4]
    if head.startswith(b"\x00\x00\x00<"):
        return data.decode("utf-32-be", errors="replace")
    if head.startswith(b"<\x00\x00\x00"):
        return data.decode("utf-32-le", errors="replace")
    if head.startswith(b"\x00<"):
        return data.decode("utf-16-be", errors="replace")
    if head.startswith(b"<\x00"):
        return data.decode("utf-16-le", errors="replace")
    # Every other encoding libxml2 accepts by default is ASCII-compatible for "<!DOCTYPE".
    return data.decode("latin-1")


def _refuse(filename: str, line: int | None, message: str) -> DefinitionError:
    return DefinitionError(findings=[Finding(filename, line, None, "error", message)])


def parse_xml(data: bytes, filename: str) -> etree._ElementTree:
    """Parse `data` as XML, refusing DTDs/entities; raise `DefinitionError` on any problem."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    text = _as_text(data)
    match = _DTD_MARKUP.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        kind = match.group(1).upper()
        raise _refuse(filename, line, f"<!{kind}> refused: DTDs and entity declarations are not allowed "
                                      "in process definitions")
    if not data.strip():
        raise _refuse(filename, 1, "malformed XML: the document is empty")
    try:
        tree = etree.parse(io.BytesIO(data), _make_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno and exc.lineno > 0 else 1
        message = " ".join((exc.msg or str(exc)).split())
        raise _refuse(filename, line, f"malformed XML: {message}") from None
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _refuse(filename, 1, "XML with a document type declaration is refused")
    if any(isinstance(node, etree._Entity) for node in tree.iter()):
        raise _refuse(filename, 1, "XML with entity references is refused")
    return tree
