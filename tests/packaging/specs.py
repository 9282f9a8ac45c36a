"""Read the container files as a container tool would: Dockerfile instructions, .dockerignore, compose.yaml.

Only the subset the repository's files use (checked by the tests, so a construct this reader does not know
fails loudly instead of being misread).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
COMPOSE = REPO / "compose.yaml"


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction, its continuation lines joined."""

    keyword: str
    args: str
    stage: int  # 0 for the first FROM's stage, 1 for the next…

    def exec_form(self) -> list[str]:
        """The JSON-array (exec) form of the arguments."""
        value = json.loads(self.args)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), self.args
        return value

    def flags_and_words(self) -> tuple[dict[str, str], list[str]]:
        """``--flag=value`` options and the remaining words (COPY, HEALTHCHECK)."""
        words = shlex.split(self.args)
        flags: dict[str, str] = {}
        while words and words[0].startswith("--"):
            name, _, value = words.pop(0)[2:].partition("=")
            flags[name] = value
        return flags, words


def dockerfile(path: Path = DOCKERFILE) -> list[Instruction]:
    """The instructions of a Dockerfile, in order (comments and parser directives left out)."""
    out: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        keyword, _, args = text.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        out.append(Instruction(keyword, args.strip(), stage))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions of the last stage (the image that runs)."""
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def one(instructions: list[Instruction], keyword: str) -> Instruction:
    """The only instruction with ``keyword``."""
    found = [i for i in instructions if i.keyword == keyword]
    assert len(found) == 1, f"{keyword}: {found}"
    return found[0]


def healthcheck_command(instruction: Instruction) -> list[str]:
    """The exec-form command of a ``HEALTHCHECK [--options] CMD [...]`` instruction."""
    _, cmd, rest = instruction.args.partition(" CMD ")
    assert cmd, instruction.args
    return Instruction("CMD", rest.strip(), instruction.stage).exec_form()


def ignored(relpath: str, path: Path = DOCKERIGNORE) -> bool:
    """Whether the build context leaves ``relpath`` out (the last matching pattern decides, ``!`` keeps)."""
    result = False
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatchcase(part, pattern[3:]) for part in relpath.split("/"))
        else:
            parts = relpath.split("/")
            # A pattern naming a folder covers what is inside it.
            hit = any(fnmatch.fnmatchcase("/".join(parts[: n + 1]), pattern) for n in range(len(parts)))
        if hit:
            result = not keep
    return result


_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` (an unset required one fails)."""

    def sub(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg
        raise AssertionError(f"compose needs {name}: {arg}")

    return _VAR.sub(sub, value)


def compose(path: Path = COMPOSE) -> dict[str, Any]:
    """compose.yaml as data (YAML anchors and merge keys resolved; ``${…}`` left as written)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def tidegate_services(data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The services that run the tidegate image (built from this repository)."""
    return {name: svc for name, svc in data["services"].items() if svc.get("build") == "."}
