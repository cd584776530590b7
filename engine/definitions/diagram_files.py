"""What a diagram file brought in from outside may be, before anything of it is kept.

A designer's edit, a draft and a file from another tool are stored and later opened by
managers and auditors. Only BPMN and DMN definitions are diagrams: any other XML (an SVG
image or an XHTML page, in which a browser runs scripts) is refused here, and so is a
file that is not XML at all, with the finding that says where. Every version is kept for
good, so a file is also refused over `MAX_DIAGRAM_BYTES`, eight times the largest
diagram of the BPMN MIWG reference set.
"""

from __future__ import annotations

from lxml import etree

from engine.definitions.xmlsafe import parse_xml
from engine.errors import DiagramTooLarge, NotADiagram

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# DMN 1.1 to 1.5, as modelers write them (with and without the trailing slash).
DMN_NAMESPACES = frozenset(ns + tail for tail in ("", "/") for ns in (
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
    "http://www.omg.org/spec/DMN/20180521/MODEL",
    "https://www.omg.org/spec/DMN/20191111/MODEL",
    "https://www.omg.org/spec/DMN/20211108/MODEL",
    "https://www.omg.org/spec/DMN/20230324/MODEL",
))


def check_diagram_file(filename: str, data: bytes) -> None:
    """Refuse `data` unless it is BPMN definitions (DMN for a .dmn file).

    Raises `DiagramTooLarge` over `MAX_DIAGRAM_BYTES`, `NotADiagram` for other XML and
    `DefinitionError` (with file and line) for a file that is not well-formed XML or declares a DTD.
    """
    if len(data) > MAX_DIAGRAM_BYTES:
        raise DiagramTooLarge(filename, len(data), MAX_DIAGRAM_BYTES)
    root = etree.QName(parse_xml(data, filename).getroot())
    if filename.endswith(".dmn"):
        expected, accepted = "DMN", root.namespace in DMN_NAMESPACES
    else:
        expected, accepted = "BPMN", root.namespace == BPMN_NS
    if not accepted or root.localname != "definitions":
        raise NotADiagram(filename, root.localname, expected)
