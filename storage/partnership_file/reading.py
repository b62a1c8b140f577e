"""Reading a partnership file into plain data, refusing what YAML cannot read
and what no partnership file needs (alias bombs, absurd nesting, many megabytes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from storage.partnership_file.errors import PartnershipFileError

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 32
MAX_VALUES = 200_000  # values in the file once every alias is expanded


class _FileLoader(yaml.SafeLoader):
    """SafeLoader that refuses absurd nesting while composing, and reads an
    impossible date (2015-02-31) as text so the checks can name its path."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} deep; no partnership file is", mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_timestamp_or_text(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


_FileLoader.add_constructor("tag:yaml.org,2002:timestamp", _FileLoader.construct_timestamp_or_text)


def read_file(path: str | Path) -> dict:
    """The file's data; PartnershipFileError if it cannot be read as a partnership file."""
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise PartnershipFileError([f"{name}: not a file"])
        if size > MAX_FILE_BYTES:
            raise PartnershipFileError(
                [f"{name}: {size:,} bytes; a partnership file is at most {MAX_FILE_BYTES:,}"]
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PartnershipFileError([f"{name}: no such file"]) from None
    except OSError as error:
        raise PartnershipFileError([f"{name}: cannot be read ({error.strerror})"]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise PartnershipFileError([f"{name}: line {line}: not UTF-8 text"]) from None
    data = _parse(text, name)
    if not isinstance(data, dict):
        raise PartnershipFileError(
            [
                f"{name}: line 1: expected a mapping starting with 'partnership:'; "
                f"got {type(data).__name__ if data is not None else 'an empty file'}"
            ]
        )
    return data


def _parse(text: str, name: str) -> Any:
    try:
        loader = _FileLoader(text)
    except yaml.reader.ReaderError as error:  # checked whole before anything is read
        line = text[: error.position].count("\n") + 1
        raise PartnershipFileError(
            [f"{name}: line {line}: character #x{error.character:04x} is not allowed in a partnership file"]
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, name)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = error.problem or error.context or "not readable YAML"
        raise PartnershipFileError([f"{name}: {where}{problem}"]) from None
    except (yaml.YAMLError, RecursionError) as error:
        problem = f"{name}: not readable YAML ({type(error).__name__})"
        raise PartnershipFileError([problem]) from None
    finally:
        loader.dispose()


def _check_expansion(root: yaml.Node, name: str) -> None:
    """Refuse a file whose aliases would expand it past MAX_VALUES values (a
    'billion laughs' bomb), an alias that contains itself, and a key given twice."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def problem(node: yaml.Node, message: str) -> PartnershipFileError:
        mark = node.start_mark
        return PartnershipFileError([f"{name}: line {mark.line + 1}, column {mark.column + 1}: {message}"])

    def size(node: yaml.Node) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_nodes:
            raise problem(node, "an alias refers to the value that contains it")
        open_nodes.add(id(node))
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            keys: set[str] = set()
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                    if key.value in keys:
                        raise problem(key, f"key {key.value[:60]!r} is given twice in one mapping")
                    keys.add(key.value)
                total += size(key) + size(value)
        if total > MAX_VALUES:
            raise problem(
                node, f"aliases (*name) expand the file past {MAX_VALUES:,} values; refused as an alias bomb"
            )
        open_nodes.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)
