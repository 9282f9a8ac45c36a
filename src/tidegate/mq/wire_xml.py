"""MNS XML primitives: a hostile-input-safe parser, text escaping, the error codes and their statuses.

Pure, no I/O. The parser is expat driven directly (not ElementTree) so that a DOCTYPE, an entity
declaration or an external entity is refused outright rather than expanded, and so that depth, element
count and size are capped before a tree is built.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from tidegate.errors import QueueError

#: The service's default namespace; sent on every body, optional when parsing.
NS = "http://mns.aliyuncs.com/doc/v1/"
#: The declaration the service puts before response bodies (requests from the SDKs use ``utf-8``).
XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'
CONTENT_TYPE = "text/xml;charset=utf-8"

#: Largest request body parsed (bytes). A batch of 16 messages of 64 KiB is ≤ 64 KiB in total, so
#: even fully ``&lt;``-escaped text stays well below this.
MAX_XML_BYTES = 1 << 20
MAX_DEPTH = 6
MAX_ELEMENTS = 4096

#: MNS error code → HTTP status (docs/protocols.md, MNS: errors). Topic-side statuses are the docs' (status unverified).
MNS_ERRORS: dict[str, int] = {
    "AccessDenied": 403,
    "InvalidAccessKeyId": 403,
    "InternalError": 500,
    "InternalServerError": 500,
    "InvalidAuthorizationHeader": 400,
    "InvalidDateHeader": 400,
    "InvalidArgument": 400,
    "InvalidDegist": 400,
    "InvalidRequestURL": 400,
    "InvalidQueryString": 400,
    "MalformedXML": 400,
    "MissingAuthorizationHeader": 400,
    "MissingDateHeader": 400,
    "MissingReceiptHandle": 400,
    "MissingVisibilityTimeout": 400,
    "MessageNotExist": 404,
    "ResourceNotExist": 404,  # tidegate's: a path under /queues or /topics that names no resource
    "MethodNotAllowed": 405,  # tidegate's: the resource exists, not with this method
    "QueueAlreadyExist": 409,
    "QueueDeletedRecently": 400,
    "InvalidQueueName": 400,
    "QueueNameLengthError": 400,
    "QueueNotExist": 404,
    "ReceiptHandleError": 400,
    "SignatureDoesNotMatch": 403,
    "TimeExpired": 408,
    "QpsLimitExceeded": 403,
    "TopicNotExist": 404,
    "TopicAlreadyExist": 409,
    "SubscriptionNotExist": 404,
    "SubscriptionAlreadyExist": 409,
}


class MalformedXML(QueueError):
    """The XML you provided was not well-formed or did not validate against our published schema."""

    code = "MalformedXML"


class InvalidXmlArgument(QueueError):
    """An element of the request body has an invalid value."""

    code = "InvalidArgument"


@dataclass(slots=True)
class Element:
    """A parsed XML element: local name (namespace dropped), text, children in order."""

    tag: str
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def child(self, tag: str) -> Element | None:
        """Return the only child named ``tag``, None when absent.

        Raises:
            InvalidXmlArgument: the child occurs more than once.
        """
        found = [c for c in self.children if c.tag == tag]
        if len(found) > 1:
            raise InvalidXmlArgument(f"The element {tag} occurs more than once in {self.tag}.")
        return found[0] if found else None

    def all(self, tag: str) -> list[Element]:
        """Return every child named ``tag``."""
        return [c for c in self.children if c.tag == tag]


def _local(name: str) -> str:
    # Without namespace processing expat reports "prefix:Local" for prefixed names.
    return name.rsplit(":", 1)[-1]


def parse_xml(data: bytes | str, max_bytes: int = MAX_XML_BYTES) -> Element:
    """Parse an MNS XML document into an :class:`Element` tree.

    UTF-8 is enforced whatever the declaration says. Whitespace-only text between child elements is
    dropped; other text mixed with child elements is refused.

    Raises:
        MalformedXML: too large, not well-formed, a DOCTYPE / entity declaration, too deep or too many
            elements.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise MalformedXML(f"The XML body is larger than {max_bytes} bytes.")
    parser = expat.ParserCreate(encoding="utf-8")
    stack: list[Element] = []
    texts: list[list[str]] = []
    root: list[Element] = []
    count = 0

    def refuse(*_: object) -> Any:
        raise MalformedXML("DOCTYPE and entity declarations are not allowed.")

    def start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            raise MalformedXML("The XML body is too deeply nested or has too many elements.")
        el = Element(_local(name))
        if stack:
            stack[-1].children.append(el)
        else:
            root.append(el)
        stack.append(el)
        texts.append([])

    def end(_name: str) -> None:
        el = stack.pop()
        text = "".join(texts.pop())
        if el.children and text.strip():
            raise MalformedXML(f"The element {el.tag} mixes text and elements.")
        el.text = "" if el.children else text

    def chars(data: str) -> None:
        if texts:
            texts[-1].append(data)

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as e:
        raise MalformedXML(f"The XML body is not well-formed: {expat.errors.messages[e.code]}.") from None
    if not root:
        raise MalformedXML("The XML body is empty.")
    return root[0]


# Control characters but tab/LF/CR, lone surrogates, and U+FFFE/U+FFFF: what XML 1.0 cannot carry.
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text_ok(text: str) -> bool:
    """Tell whether ``text`` can travel in an XML 1.0 element (no control characters but tab/LF/CR)."""
    return _INVALID_XML_CHARS.search(text) is None


def xml_text_problem(text: str) -> str | None:
    """Describe the first character of ``text`` that XML 1.0 cannot carry, or return None when it can.

    XML 1.0's ``Char`` production allows #x9, #xA, #xD, [#x20-#xD7FF], [#xE000-#xFFFD] and
    [#x10000-#x10FFFF]; everything else (C0 controls, lone surrogates, U+FFFE, U+FFFF) is refused. The
    description names the character and its position, e.g. ``U+0001 at position 3``.
    """
    m = _INVALID_XML_CHARS.search(text)
    if m is None:
        return None
    return f"U+{ord(m.group()):04X} at position {m.start()}"


def xml_printable(text: str) -> str:
    """``text`` with each character XML 1.0 cannot carry written as ``\\uXXXX``: for messages that echo input.

    An error message may repeat what a client sent (a queue name in a path, a header); it must still render.
    """
    return _INVALID_XML_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class XmlUnsafeText(MalformedXML):
    """Text that XML 1.0 cannot carry (a control character, a lone surrogate, U+FFFE or U+FFFF).

    The code is the service's ``MalformedXML``: an MNS request holding such text is not well-formed XML,
    so the service answers it that way, and the same code is used wherever the text comes from.
    """


def check_xml_text(what: str, text: str) -> str:
    """Return ``text`` if XML 1.0 can carry it (see :func:`xml_text_problem`).

    This is the message service's one XML-safety rule: every text that a receive, a peek or a push renders
    as XML passes here when it enters the service.

    Raises:
        XmlUnsafeText: the text holds a character XML 1.0 cannot carry (named with its position).
    """
    problem = xml_text_problem(text)
    if problem is not None:
        raise XmlUnsafeText(f"The {what} holds {problem}, a character that XML 1.0 cannot carry.")
    return text


def esc(text: str) -> str:
    """Escape element text: ``& < >`` and CR (``&#13;``, which XML parsers would otherwise turn into LF).

    Raises:
        ValueError: the text holds characters XML 1.0 cannot carry (check with :func:`xml_text_ok`).
    """
    if not xml_text_ok(text):
        raise ValueError("text contains characters that XML 1.0 cannot represent")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def el(tag: str, text: str | int) -> str:
    """Render ``<tag>text</tag>`` (text escaped)."""
    return f"<{tag}>{esc(str(text))}</{tag}>"


def document(root: str, inner: str) -> bytes:
    """Render a whole document: declaration, root with the MNS namespace, inner XML."""
    return f'{XML_DECL}<{root} xmlns="{NS}">{inner}</{root}>'.encode()


def body_md5(body: str) -> str:
    """Return the ``MessageBodyMD5`` of a stored body: upper-case hex MD5 of its UTF-8 bytes."""
    return hashlib.md5(body.encode("utf-8")).hexdigest().upper()
