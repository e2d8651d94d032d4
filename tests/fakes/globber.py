"""@actions/glob as upload-artifact and sticky-pull-request-comment use it, replayed in Python.

Read from actions/toolkit packages/glob/src/internal-globber.ts, internal-pattern.ts and
internal-pattern-helper.ts: one pattern a line (`#` comments), `!` excludes, relative patterns
rooted at the working directory, a directory pattern implies everything under it (implicit
descendants), and the LAST matching pattern decides. Hidden items (basename starting with `.`) are
pruned, search roots included, when hidden files are excluded. `*` and `?` never cross `/`; `**`
spans any number of folders; dot files are matched by `*` (minimatch `dot: true`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

GLOB_CHARS = set("*?[")


@dataclass
class Pattern:
    negate: bool
    segments: list[str]  # of an absolute, normalised path; segments[0] == "" (the root)
    trailing_separator: bool
    implicit: bool = False

    @classmethod
    def parse(cls, line: str, cwd: Path) -> Pattern:
        negate = False
        while line.startswith("!"):
            negate, line = not negate, line[1:].strip()
        trailing = line.endswith("/")
        line = os.path.expanduser(line) if line.startswith("~") else line
        absolute = os.path.normpath(os.path.join(cwd, line))
        return cls(negate, absolute.split("/"), trailing)

    @property
    def search_path(self) -> str:
        """The literal folders before the first segment with a glob character."""
        literal = []
        for segment in self.segments:
            if GLOB_CHARS & set(segment):
                break
            literal.append(segment)
        return "/".join(literal) or "/"

    def with_descendants(self) -> Pattern:
        return Pattern(self.negate, [*self.segments, "**"], self.trailing_separator, implicit=True)

    def matches(self, path: str, is_dir: bool) -> bool:
        if self.trailing_separator and not self.implicit and not is_dir:
            return False  # `dir/` names directories only
        return _match(self.segments, path.split("/"), partial=False)

    def partially_matches(self, path: str) -> bool:
        """Could something under `path` match?"""
        return _match(self.segments, path.split("/"), partial=True)


def _match(pattern: list[str], path: list[str], partial: bool) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return partial or any(_match(rest, path[i:], partial) for i in range(len(path) + 1))
    if not path:
        return partial
    return fnmatchcase(path[0], head) and _match(rest, path[1:], partial)


def parse_patterns(text: str, cwd: Path) -> list[Pattern]:
    lines = (line.strip() for line in text.split("\n"))
    return [Pattern.parse(line, cwd) for line in lines if line and not line.startswith("#")]


def search_paths(patterns: list[Pattern]) -> list[str]:
    """Search roots of the include patterns, without duplicates or descendants of one another."""
    candidates = [p.search_path for p in patterns if not p.negate]
    result = []
    for path in candidates:
        ancestors = {str(parent) for parent in Path(path).parents}
        if path not in result and not ancestors & set(candidates):
            result.append(path)
    return result


def glob(text: str, cwd: Path, include_hidden: bool, match_directories: bool = True) -> list[str]:
    """Absolute paths of what the patterns in `text` match (files, and directories if asked)."""
    patterns = parse_patterns(text, cwd)
    expanded = []
    for pattern in patterns:  # implicit descendants
        expanded.append(pattern)
        if pattern.trailing_separator or pattern.segments[-1] != "**":
            expanded.append(pattern.with_descendants())
    found: list[str] = []
    for root in search_paths(patterns):
        if os.path.lexists(root):
            _walk(root, expanded, include_hidden, match_directories, found)
    return found


def _walk(path: str, patterns: list[Pattern], include_hidden: bool, dirs: bool, found: list[str]) -> None:
    is_dir = os.path.isdir(path)  # follows symbolic links, as upload-artifact asks
    matched = _matched(patterns, path, is_dir)
    if not matched and not any(not p.negate and p.partially_matches(path) for p in patterns):
        return
    if not os.path.exists(path):  # broken symbolic link: omitted
        return
    if not include_hidden and os.path.basename(path).startswith("."):
        return
    if not is_dir:
        if matched:
            found.append(path)
        return
    if matched and dirs:
        found.append(path)
    for child in sorted(os.listdir(path)):
        _walk(os.path.join(path, child), patterns, include_hidden, dirs, found)


def _matched(patterns: list[Pattern], path: str, is_dir: bool) -> bool:
    """The last pattern that matches decides: an include adds, an exclude removes."""
    result = False
    for pattern in patterns:
        if pattern.matches(path, is_dir):
            result = not pattern.negate
    return result


def least_common_ancestor(paths: list[str]) -> str:
    """upload-artifact's root for several search paths (src/shared/search.ts getMultiPathLCA)."""
    split = [os.path.normpath(p).split("/") for p in paths]
    common = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return "/".join(common) or "/"
