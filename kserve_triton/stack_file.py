"""Read a `Pulumi.<stack>.yaml` exactly as the Pulumi CLI reads it, and hand the program the config strings the CLI
would hand it.

How the Pulumi CLI reads a stack file (pulumi/pulumi at 1b59498, `sdk/go/common/workspace/loaders.go`
`LoadProjectStack`/`LoadProjectStackBytes`, `sdk/go/common/encoding/marshal.go`, `sdk/go/common/resource/config/`):

1. The UTF-8 byte-order mark is stripped; the bytes are decoded by `gopkg.in/yaml.v3` (v3.0.1, `sdk/go.mod`) into a
   generic value. Only the first YAML document is read.
2. `SimplifyMarshalledProject`: the top level must be a mapping, and every mapping anywhere must have text keys
   ("expected only string keys").
3. `stackConfigNamespacedWithProject`: a config key without a `:` is the project's (`cluster` is
   `kserve-triton:cluster`).
4. The result is re-encoded and decoded into `ProjectStack`: `config.ParseKey` takes `namespace:name`, or the old
   `namespace:config:name`; anything else is refused. Each value becomes a `config.Value`: a YAML string is kept as is,
   a bool or number becomes its JSON text, an object or list its JSON (`object.MarshalString`). JSON has no NaN or
   infinity, so `.nan` and `.inf` in a value make the CLI refuse the file ("json: unsupported value"). A value left
   empty (YAML null) reaches the program as an empty string: yaml.v3 does not call a type's unmarshaler for null
   (`decoder.prepare`), and the CLI warns about it (`checkForEmptyConfig`).

How yaml.v3 (go-yaml/yaml at v3.0.1, `resolve.go`, `decode.go`) reads scalars and mappings, which this module ports:

- Only `true`/`True`/`TRUE` and `false`/`False`/`FALSE` are booleans: `yes`, `no`, `on`, `off`, `y`, `n` are text.
- Null is empty, `~`, `null`, `Null` or `NULL`; `.nan`, `.inf` and `-.inf` (three spellings each) are floats.
- An integer is what Go's `strconv.ParseInt(s, 0, 64)` takes once every `_` is removed: `1_000`, `0x1F`, `0o17`, and
  `0777` as octal (YAML 1.1's spelling, kept); then `ParseUint`; then, if it looks like a YAML float, a float (so
  `08` is 8.0, and an integer beyond 64 bits is a float); a float outside float64's range stays text (`1e400`).
- `2024-01-31` and the other yaml.org timestamps are times (the CLI turns one into Go's `time.Time.String()`).
- A key given twice in one mapping is an error, compared by its text as written ("mapping key ... already defined").
- `!!binary` text stays the base64 text when decoded into a generic value, as here (`resolve` answers !!str).
- `<<` merges a mapping (or a list of mappings) into the one it is in, without overriding keys it already has.
- An alias that would expand without bound is refused ("document contains excessive aliasing"), as is an alias inside
  the node it names.

The YAML syntax itself is parsed by ruamel.yaml (pinned in requirements.txt), whose parser derives from libyaml as
yaml.v3's does. Deliberate differences, each refused with one line naming the file: more than MAX_BYTES of text, or
mappings and lists nested deeper than MAX_DEPTH (yaml.v3 allows 10,000 levels; ruamel.yaml's scanner slows down
quadratically with depth); a config key that names the same setting as another once namespaced (`cluster` next to
`kserve-triton:cluster`: the CLI keeps one of the two at random); a top-level key the CLI would silently ignore
(`confg:`); and an encrypted (`secure:`) value of a setting this program reads, which only the CLI can decrypt.
"""

from __future__ import annotations

import calendar
import difflib
import io
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

MAX_BYTES = 1 << 20
"""A stack file is a few kilobytes; a larger one is refused rather than parsed."""
MAX_DEPTH = 64
"""Mappings and lists nested deeper than this are refused (no stack configuration needs more)."""

STACK_FILE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment")
"""The top-level keys of a stack file (`workspace.ProjectStack`); the CLI ignores any other."""
STRING_FIELDS = ("secretsprovider", "encryptedkey", "encryptionsalt")


class StackFileError(ValueError):
    """A stack file the Pulumi CLI would refuse (or read differently than it looks): one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Secret:
    """An encrypted config value (`{secure: <ciphertext>}`); only the Pulumi CLI can decrypt it."""

    ciphertext: str


@dataclass
class StackFile:
    """What the CLI reads from a stack file: its config, namespaced, with where each key was written."""

    path: Path
    config: dict[str, Any] = field(default_factory=dict)
    """`namespace:name` -> the value as decoded (text, bool, int, float, None, list, dict, or Secret)."""
    where: dict[str, tuple[int, int]] = field(default_factory=dict)
    """`namespace:name` -> (line, column) of its key, 1-based."""
    has_environment: bool = False


# --- yaml.v3's scalar resolution (resolve.go), ported ----------------------------------------------------------------

_LONG_TAG_PREFIX = "tag:yaml.org,2002:"
NULL, BOOL, STR, INT, FLOAT, TIMESTAMP, SEQ, MAP, BINARY, MERGE = (
    "!!null", "!!bool", "!!str", "!!int", "!!float", "!!timestamp", "!!seq", "!!map", "!!binary", "!!merge"
)  # fmt: skip
_RESOLVABLE = ("", STR, BOOL, INT, FLOAT, NULL, TIMESTAMP)
_RESOLVE_MAP: dict[str, tuple[str, Any]] = {
    **{s: (BOOL, True) for s in ("true", "True", "TRUE")},
    **{s: (BOOL, False) for s in ("false", "False", "FALSE")},
    **{s: (NULL, None) for s in ("", "~", "null", "Null", "NULL")},
    **{s: (FLOAT, math.nan) for s in (".nan", ".NaN", ".NAN")},
    **{s: (FLOAT, math.inf) for s in (".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF")},
    **{s: (FLOAT, -math.inf) for s in ("-.inf", "-.Inf", "-.INF")},
    "<<": (MERGE, "<<"),
}
_HINT = {**{c: "S" for c in "+-"}, **{c: "D" for c in "0123456789"}, **{c: "M" for c in "yYnNtTfFoO~"}, ".": "."}
_YAML_STYLE_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


class YamlError(Exception):
    """yaml.v3's `failf`: the document is refused."""

    def __init__(self, message: str, line: int = 0, column: int = 0):
        super().__init__(message)
        self.line, self.column = line, column


def short_tag(tag: str) -> str:
    return "!!" + tag[len(_LONG_TAG_PREFIX) :] if tag.startswith(_LONG_TAG_PREFIX) else tag


def _go_parse_int(text: str, base: int = 0) -> int | None:
    """Go's strconv.ParseInt/ParseUint digits (sign, then 0x/0o/0b/0 prefixes with base 0), without the range check."""
    sign, body = 1, text
    if body[:1] in "+-" and body:
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    if not body:
        return None
    if base == 0:
        lowered = body.lower()
        if lowered.startswith("0x"):
            base, body = 16, body[2:]
        elif lowered.startswith("0o"):
            base, body = 8, body[2:]
        elif lowered.startswith("0b"):
            base, body = 2, body[2:]
        elif body.startswith("0") and len(body) > 1:
            base, body = 8, body[1:]
        else:
            base = 10
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    if not body or any(c.lower() not in digits for c in body):
        return None
    return sign * int(body, base)


def _parse_int64(text: str, base: int = 0) -> int | None:
    value = _go_parse_int(text, base)
    return value if value is not None and _INT64[0] <= value <= _INT64[1] else None


def _parse_uint64(text: str, base: int = 0) -> int | None:
    if text[:1] in "+-":  # ParseUint takes no sign
        return None
    value = _go_parse_int(text, base)
    return value if value is not None and 0 <= value <= _UINT64_MAX else None


def _parse_float(text: str) -> float | None:
    """Go's strconv.ParseFloat for what reaches it here; None on a syntax or range error."""
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isinf(value) and "inf" not in text.lower():
        return None  # out of range: ParseFloat returns an error (ErrRange)
    return value


_TIMESTAMP = re.compile(
    r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>\d{1,2}):(?P<mi>\d{1,2}):(?P<s>\d{1,2})(?P<frac>\.\d{1,9})?(?P<tz>Z|[+-]\d{2}:\d{2})?)?$"
)


def parse_timestamp(text: str) -> str | None:
    """yaml.v3's timestamp formats; the time as Go's `time.Time.String()` prints it (what the CLI passes on)."""
    match = _TIMESTAMP.match(text)
    if match is None:
        return None
    if (match["sep"] == " " and match["tz"]) or (match["sep"] in ("T", "t") and not match["tz"]):
        return None  # "2006-1-2 15:4:5.999999999" has no zone; the T forms need one (Z07:00)
    year, month, day = int(match["y"]), int(match["mo"]), int(match["d"])
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    hour, minute, second = (int(match[k] or 0) for k in ("h", "mi", "s"))
    if hour > 23 or minute > 59 or second > 59:
        return None
    frac = (match["frac"] or "").rstrip("0").rstrip(".")
    tz = match["tz"]
    if tz in (None, "Z"):
        zone = "+0000 UTC"
    else:
        offset = tz.replace(":", "")
        zone = f"{offset} {offset}"  # a fabricated fixed zone has no name: Go prints the offset twice
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}{frac} {zone}"


def resolve(tag: str, text: str) -> tuple[str, Any]:
    """yaml.v3's `resolve(tag, in)`: the tag a scalar resolves to, and its value."""
    tag = short_tag(tag)
    if tag not in _RESOLVABLE:
        return tag, text
    rtag, out = _resolve_plain(tag, text)
    if tag in ("", rtag, STR, BINARY):
        return rtag, out
    if tag == FLOAT and rtag == INT:
        return FLOAT, float(out)
    raise YamlError(f"cannot decode {rtag} `{text}` as a {tag}")


def _resolve_plain(tag: str, text: str) -> tuple[str, Any]:
    hint = _HINT.get(text[:1], "N" if not text else None)
    if hint is None or tag in (STR, BINARY):
        return STR, text
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    if hint == ".":
        if re.fullmatch(r"\.[0-9]+([eE][-+]?[0-9]+)?", text):  # what Go's ParseFloat takes after a leading '.'
            value = _parse_float(text)
            if value is not None:
                return FLOAT, value
    elif hint in ("D", "S"):
        if tag in ("", TIMESTAMP):
            stamp = parse_timestamp(text)
            if stamp is not None:
                return TIMESTAMP, stamp
        plain = text.replace("_", "")
        for parse in (_parse_int64, _parse_uint64):
            value = parse(plain)
            if value is not None:
                return INT, value
        if _YAML_STYLE_FLOAT.match(plain):
            value = _parse_float(plain)
            if value is not None:
                return FLOAT, value
        # resolve.go then retries 0b/0o prefixes with ParseInt(..., 2 or 8, 64): the same digits and range as the
        # base-0 parse above, so nothing more resolves there.
    return STR, text


# --- the node tree (yaml.v3's parser.node) ---------------------------------------------------------------------------

SCALAR, MAPPING, SEQUENCE, ALIAS = "scalar", "mapping", "sequence", "alias"


@dataclass(eq=False)
class Node:
    kind: str
    tag: str
    value: str
    line: int
    column: int
    quoted: bool = False
    content: list[Node] = field(default_factory=list)
    alias: Node | None = None

    def indicated_string(self) -> bool:
        return self.kind == SCALAR and (short_tag(self.tag) == STR or (self.tag in ("", "!") and self.quoted))

    def short_tag(self) -> str:
        if self.indicated_string():
            return STR
        if self.tag in ("", "!"):
            if self.kind == MAPPING:
                return MAP
            if self.kind == SEQUENCE:
                return SEQ
            if self.kind == ALIAS and self.alias is not None:
                return self.alias.short_tag()
            if self.kind == SCALAR:
                return resolve("", self.value)[0]
            return ""
        return short_tag(self.tag)


def parse_first_document(text: str) -> Node | None:
    """The first document's root node, built as yaml.v3's parser builds it (None for an empty stream)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.events import (
        AliasEvent,
        DocumentEndEvent,
        MappingEndEvent,
        MappingStartEvent,
        ScalarEvent,
        SequenceEndEvent,
        SequenceStartEvent,
    )

    anchors: dict[str, Node] = {}
    stack: list[Node] = []
    root: Node | None = None

    def add(node: Node) -> None:
        nonlocal root
        if stack:
            stack[-1].content.append(node)
        else:
            root = node

    def tagged(kind: str, event: Any, default: str) -> tuple[str, bool]:
        tag = str(event.tag) if event.tag is not None else ""
        if tag and tag != "!":
            return short_tag(tag), True
        return default, False

    for event in YAML(typ="safe", pure=True).parse(io.StringIO(text)):
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        if isinstance(event, ScalarEvent):
            quoted = event.style is not None
            default = STR if quoted else (MERGE if event.value == "<<" else "")
            tag, explicit = tagged(SCALAR, event, default)
            if not explicit and not tag:
                tag = resolve("", event.value)[0]
            node = Node(SCALAR, tag, event.value, line, column, quoted=quoted)
        elif isinstance(event, AliasEvent):
            target = anchors.get(event.anchor)
            if target is None:
                raise YamlError(f"unknown anchor '{event.anchor}' referenced", line, column)
            node = Node(ALIAS, "", event.anchor, line, column, alias=target)
        elif isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            kind = MAPPING if isinstance(event, MappingStartEvent) else SEQUENCE
            node = Node(kind, tagged(kind, event, MAP if kind == MAPPING else SEQ)[0], "", line, column)
            if len(stack) >= MAX_DEPTH:
                raise YamlError(f"nested deeper than {MAX_DEPTH} levels, which no stack file needs", line, column)
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            stack.pop()
            continue
        elif isinstance(event, DocumentEndEvent):
            break  # yaml.v3's Unmarshal reads the first document only
        else:
            continue
        if getattr(event, "anchor", None) is not None and not isinstance(event, AliasEvent):
            anchors[event.anchor] = node
        add(node)
        if node.kind in (MAPPING, SEQUENCE):
            stack.append(node)
    return root


# --- yaml.v3's decoder into interface{} (decode.go), ported ---------------------------------------------------------

_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000


def _allowed_alias_ratio(decode_count: int) -> float:
    if decode_count <= _ALIAS_RATIO_LOW:
        return 0.99
    if decode_count >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decode_count - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)


class _GeneralMap(dict):
    """A mapping with a key that is not text (yaml.v3's map[interface{}]interface{}): the CLI refuses it."""


MAX_EXPANSION_DEPTH = 4 * MAX_DEPTH
"""Aliases of aliases can nest a value deeper than the text does; past this it is refused, not recursed into."""


class _Decoder:
    """yaml.v3's decoder into interface{}: values, duplicate keys, merges and alias limits; it also records where
    each mapping's keys were written and where a non-finite float is (with its path from the root)."""

    def __init__(self) -> None:
        self.terrors: list[str] = []
        self.decode_count = 0
        self.alias_count = 0
        self.alias_depth = 0
        self.depth = 0
        self.expanding: set[int] = set()
        self.merged_fields: dict[Any, bool] | None = None
        self.key_positions: dict[int, dict[str, tuple[int, int]]] = {}
        self.nonfinite: list[tuple[float, Node, tuple[Any, ...]]] = []
        self.general_maps: list[Node] = []
        self.path: list[Any] = []

    def count(self, node: Node) -> None:
        self.decode_count += 1
        if self.alias_depth > 0:
            self.alias_count += 1
        if (
            self.alias_count > 100
            and self.decode_count > 1000
            and self.alias_count / self.decode_count > _allowed_alias_ratio(self.decode_count)
        ):
            raise YamlError("document contains excessive aliasing", node.line, node.column)

    def unmarshal(self, node: Node, out: dict | None = None) -> tuple[Any, bool]:
        self.count(node)
        if node.kind == ALIAS:
            return self.expand(node, out)
        if node.kind == SCALAR:
            return self.scalar(node), True
        self.depth += 1
        try:
            if self.depth > MAX_EXPANSION_DEPTH:
                raise YamlError(
                    f"nested deeper than {MAX_EXPANSION_DEPTH} levels through aliases", node.line, node.column
                )
            if node.kind == MAPPING:
                return self.mapping(node, out)
            return self.sequence(node), True
        finally:
            self.depth -= 1

    def expand(self, node: Node, out: dict | None = None) -> tuple[Any, bool]:
        if id(node) in self.expanding:
            raise YamlError(f"anchor '{node.value}' value contains itself", node.line, node.column)
        assert node.alias is not None
        self.expanding.add(id(node))
        self.alias_depth += 1
        try:
            return self.unmarshal(node.alias, out)
        finally:
            self.alias_depth -= 1
            self.expanding.discard(id(node))

    def scalar(self, node: Node) -> Any:
        if node.indicated_string():
            return node.value
        try:
            _, value = resolve(node.tag, node.value)
        except YamlError as error:
            raise YamlError(str(error), node.line, node.column) from None
        if isinstance(value, float) and not math.isfinite(value):
            self.nonfinite.append((value, node, tuple(self.path)))
        return value

    def sequence(self, node: Node) -> list[Any]:
        items = []
        for index, child in enumerate(node.content):
            self.path.append(index)
            try:
                value, good = self.unmarshal(child)
            finally:
                self.path.pop()
            if good:
                items.append(value)
        return items

    def mapping(self, node: Node, out: dict | None = None) -> tuple[dict, bool]:
        pairs = list(zip(node.content[0::2], node.content[1::2], strict=True))
        errors_before = len(self.terrors)
        for i, (first, _) in enumerate(pairs):
            for second, _ in pairs[i + 1 :]:
                if first.kind == second.kind and first.value == second.value:
                    key = _go_quote(second.value)
                    self.terrors.append(f"line {second.line}: mapping key {key} already defined at line {first.line}")
        if len(self.terrors) > errors_before:
            return {}, False
        if out is None:
            if all(key.short_tag() in (STR, MERGE) for key, _ in pairs):
                out = {}
            else:
                out = _GeneralMap()
                self.general_maps.append(node)
        positions = self.key_positions.setdefault(id(out), {})
        merged_fields, self.merged_fields = self.merged_fields, None
        merge_node = None
        for key_node, value_node in pairs:
            if _is_merge(key_node):
                merge_node = value_node
                continue
            key, good = self.unmarshal(key_node)
            if not good:
                continue
            if isinstance(key, (dict, list)):
                raise YamlError(f"invalid map key: {_go_repr(key)}", key_node.line, key_node.column)
            if merged_fields is not None:
                if merged_fields.get(_field(key)):
                    continue
                merged_fields[_field(key)] = True
            self.path.append(key)
            try:
                value, _ = self.unmarshal(value_node)
            finally:
                self.path.pop()
            out[key] = value
            if isinstance(key, str):
                positions.setdefault(key, (key_node.line, key_node.column))
        self.merged_fields = merged_fields
        if merge_node is not None:
            self.merge(pairs, merge_node, out)
        return out, True

    def merge(self, pairs: list[tuple[Node, Node]], merge: Node, out: dict) -> None:
        merged_fields = self.merged_fields
        if merged_fields is None:
            self.merged_fields = {}
            for key_node, _ in pairs:
                key, good = self.unmarshal(key_node)
                if good and not isinstance(key, (dict, list)):
                    self.merged_fields[_field(key)] = True

        def is_map(node: Node) -> bool:
            return node.kind == MAPPING or (
                node.kind == ALIAS and node.alias is not None and node.alias.kind == MAPPING
            )

        if is_map(merge):
            self.unmarshal(merge, out)
        elif merge.kind == SEQUENCE and all(is_map(item) for item in merge.content):
            for item in merge.content:
                self.unmarshal(item, out)
        else:
            raise YamlError("map merge requires map or sequence of maps as the value", merge.line, merge.column)
        self.merged_fields = merged_fields


def _field(key: Any) -> Any:
    """A decoded key as Go compares interface{} values (by type and value)."""
    return (type(key), "NaN") if isinstance(key, float) and math.isnan(key) else (type(key), key)


def _is_merge(node: Node) -> bool:
    return node.kind == SCALAR and node.value == "<<" and (node.tag in ("", "!") or short_tag(node.tag) == MERGE)


def printable(text: Any) -> str:
    """A key as a message shows it: as written when printable, else quoted with escapes (one line)."""
    text = str(text)
    return text if text.isprintable() and text.strip() == text and text else json.dumps(text, ensure_ascii=False)


def _go_quote(text: str) -> str:
    """Go's %#v of a string (strconv.Quote), close enough for a message."""
    return json.dumps(text, ensure_ascii=False)


def _go_repr(value: Any) -> str:
    return json.dumps(value, default=str)


# --- the stack file as the CLI reads it ------------------------------------------------------------------------------


def read_stack_file(path: Path, project: str) -> StackFile:
    """Read `path` as the Pulumi CLI reads a stack file of project `project`; StackFileError with one line per
    problem when the CLI would refuse it (or read it otherwise than it looks)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise StackFileError([f"{path}: cannot be read: {error.strerror or error}"]) from None
    if len(data) > MAX_BYTES:
        raise StackFileError([f"{path}: {len(data):,} bytes is not a stack file (at most {MAX_BYTES:,})"])
    text = _text(path, data)
    try:
        root = parse_first_document(text)
        decoder = _Decoder()
        document, _ = decoder.unmarshal(root) if root is not None else (None, True)
    except YamlError as error:
        where = f"{path}:{error.line}:{error.column}" if error.line else str(path)
        raise StackFileError([f"{where}: YAML error: {error}"]) from None
    except Exception as error:  # ruamel.yaml's scanner, parser and reader errors
        raise StackFileError([_syntax_error(path, error)]) from None
    if decoder.terrors:
        raise StackFileError([f"{path}:{_terror_line(t)}: YAML error: {_terror_text(t)}" for t in decoder.terrors])
    return _stack(path, project, document, decoder)


def _text(path: Path, data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):  # the CLI strips a UTF-8 byte-order mark (readFileStripUTF8BOM)
        data = data[3:]
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # libyaml's reader takes UTF-16 with a byte-order mark
            return data.decode("utf-16")
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StackFileError([f"{path}:{line}: not UTF-8 text (byte {error.start}): YAML files are UTF-8"]) from None


def _syntax_error(path: Path, error: Exception) -> str:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or getattr(error, "context", None)
    if mark is not None:
        return f"{path}:{mark.line + 1}:{mark.column + 1}: YAML syntax error: {problem or error}"
    if hasattr(error, "character"):  # ruamel.yaml's ReaderError: a character YAML does not allow
        character = error.character if isinstance(error.character, str) else chr(error.character)
        return f"{path}: YAML syntax error: the character {character!r} is not allowed in YAML text"
    return f"{path}: YAML syntax error: {str(error).splitlines()[0] if str(error) else type(error).__name__}"


def _terror_line(terror: str) -> str:
    return terror.split(":", 1)[0].removeprefix("line ")


def _terror_text(terror: str) -> str:
    return terror.split(": ", 1)[1] + " (the Pulumi CLI refuses a key given twice)"


def _stack(path: Path, project: str, document: Any, decoder: _Decoder) -> StackFile:
    stack = StackFile(path)
    if document is None:
        return stack
    problems = [
        f"{path}:{node.line}:{node.column}: YAML error: a mapping with a key that is not text; the Pulumi CLI reads "
        "only text keys (expected only string keys): quote the key"
        for node in decoder.general_maps
    ]
    if problems:
        raise StackFileError(problems)
    if not isinstance(document, dict):
        raise StackFileError(
            [f"{path}: not a Pulumi stack file: its top level must be a mapping with a `config:` mapping"]
        )
    top = decoder.key_positions.get(id(document), {})
    for key, value in document.items():
        line, column = top.get(key, (0, 0))
        close = difflib.get_close_matches(str(key).lower(), STACK_FILE_KEYS, n=1, cutoff=0.75)
        if key not in STACK_FILE_KEYS and close:
            # The CLI ignores other top-level keys (a place for YAML anchors, say); one that looks like a known key
            # is a typo whose settings would silently not apply.
            problems.append(
                f"{path}:{line}:{column}: {printable(key)}: not a stack file setting, so the Pulumi CLI would ignore "
                f"it and everything under it; did you mean {close[0]}?"
            )
        elif key in STRING_FIELDS and isinstance(value, (dict, list)):
            problems.append(f"{path}:{line}:{column}: {printable(key)}: must be text")
    stack.has_environment = document.get("environment") is not None
    config = document.get("config")
    if config is None:
        if problems:
            raise StackFileError(problems)
        return stack
    if not isinstance(config, dict):
        line, column = top.get("config", (0, 0))
        raise StackFileError(
            [*problems, f"{path}:{line}:{column}: config: must be a mapping of `namespace:name: value` settings"]
        )
    positions = decoder.key_positions.get(id(config), {})
    written: dict[str, str] = {}
    for raw_key, value in config.items():
        line, column = positions.get(raw_key, (0, 0))
        here = f"{path}:{line}:{column}"
        key = parse_key(raw_key if ":" in raw_key else f"{project}:{raw_key}")
        if key is None:
            problems.append(
                f"{here}: {printable(raw_key)}: not a configuration key, which the Pulumi CLI refuses: write "
                f"namespace:name (one colon), e.g. {project}:<setting>"
            )
            continue
        if key in stack.config:
            first = stack.where[key]
            problems.append(
                f"{here}: {printable(raw_key)}: names {printable(key)}, as {printable(written[key])} (line "
                f"{first[0]}) does; the Pulumi CLI would keep one of the two at random: keep one"
            )
            continue
        written[key] = raw_key
        stack.config[key] = _secrets(value)
        stack.where[key] = (line, column)
    for value, node, where in decoder.nonfinite:
        if where[:1] == ("config",):  # only config values are JSON-encoded by the CLI
            shown = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
            problems.append(
                f"{path}:{node.line}:{node.column}: {printable(node.value)}: not a number the Pulumi CLI can store in "
                f"a stack's config (json: unsupported value: {shown}); write a finite number"
            )
    if problems:
        raise StackFileError(problems)
    return stack


def parse_key(key: str) -> str | None:
    """config.ParseKey: `namespace:name`, or the old `namespace:config:name`; None when the CLI refuses the key."""
    parts = key.split(":")
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config" and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", parts[0]) and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    return None


def _secrets(value: Any) -> Any:
    """`{secure: <ciphertext>}` anywhere in a value is an encrypted value (config.isSecureValue)."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get("secure"), str):
            return Secret(value["secure"])
        return {k: _secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_secrets(v) for v in value]
    return value


def secrets_in(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, dict):
        return any(secrets_in(v) for v in value.values())
    if isinstance(value, list):
        return any(secrets_in(v) for v in value)
    return False


# --- what the program receives ---------------------------------------------------------------------------------------


def config_text(value: Any) -> str:
    """The string the program gets for a config value (config.Value's text, then the engine's plaintext).

    A string is itself; a bool or a number its JSON; a list or mapping its JSON as Go's encoding/json writes it
    (sorted keys, floats in Go's shortest form, so `2.0` arrives as `2`); YAML null an empty string."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Secret):
        return value.ciphertext
    return go_json(value)


def go_json(value: Any) -> str:
    """encoding/json.Marshal of a decoded YAML value (maps with sorted keys, Go's float format)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Secret):
        return go_json({"secure": value.ciphertext})
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{go_json(v)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    return json.dumps(str(value))


def go_float(value: float) -> str:
    """Go's encoding/json float64: shortest round-trip digits, plain below 1e21 and from 1e-6, else exponent form
    with at least one exponent digit (`1e-7`, `1e+21`). NaN and infinities have no JSON (refused before this)."""
    if not math.isfinite(value):
        raise ValueError(f"json: unsupported value: {value}")
    if value == 0:
        return "-0" if math.copysign(1, value) < 0 else "0"
    magnitude = abs(value)
    if 1e-6 <= magnitude < 1e21:
        text = format(Decimal(repr(value)).normalize(), "f")
        return text
    mantissa, exponent = f"{Decimal(repr(value)).normalize():e}".split("e")
    sign, digits = exponent[0], exponent[1:].lstrip("0") or "0"
    if len(digits) < 2:
        digits = digits.rjust(2, "0") if sign == "+" else digits
    return f"{mantissa}e{sign}{digits}"
