"""Substitutions of the ROS 2 launch frontends, parsed and evaluated (ROS-free).

Supported: ``$(var name)``, ``$(env NAME [default])``, ``$(optenv NAME [default])``,
``$(find-pkg-share pkg)``, ``$(find-pkg-prefix pkg)``, ``$(find-exec name)``,
``$(anon name)``, ``$(dirname)``, ``$(filename)``, ``$(not x)``, ``$(and a b)``,
``$(or a b)``, ``$(equals a b)``, ``$(not-equals a b)``, ``$(eval 'python expression')``
(arithmetic, comparisons and ``a if c else b`` only), ``$(command 'cmd args' [on_stderr])``
(its standard output, as launch's ``Command``: a failing command is an error; ``on_stderr``
fail (default), ignore, warn or capture). Substitutions nest: ``$(find-pkg-share $(var pkg))``.
An unknown substitution or a missing variable is an error, never an empty string.
"""

from __future__ import annotations

import ast
import operator
import os
import random
import re
import shlex
import shutil
import string
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Union

Part = Union[str, "Subst"]


class SubstitutionError(ValueError):
    pass


@dataclass
class Subst:
    name: str
    args: list[list[Part]]


def parse(text: str) -> list[Part]:
    """Split ``text`` into literal strings and :class:`Subst` objects."""
    parts, pos = _parse_seq(text, 0, top=True)
    return parts


def _parse_seq(text: str, pos: int, top: bool):
    parts: list[Part] = []
    buf = []
    while pos < len(text):
        if text.startswith("$(", pos):
            if buf:
                parts.append("".join(buf))
                buf = []
            sub, pos = _parse_subst(text, pos + 2)
            parts.append(sub)
            continue
        if not top and text[pos] in " \t)":
            break
        if not top and text[pos] in "'\"":
            end = text.find(text[pos], pos + 1)
            if end < 0:
                raise SubstitutionError(f"unterminated quote in {text!r}")
            # quoted text keeps its spaces and may itself hold substitutions
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.extend(parse(text[pos + 1 : end]))
            pos = end + 1
            continue
        buf.append(text[pos])
        pos += 1
    if buf:
        parts.append("".join(buf))
    return parts, pos


def _parse_subst(text: str, pos: int):
    m = re.compile(r"[A-Za-z][A-Za-z0-9_-]*").match(text, pos)
    if not m:
        raise SubstitutionError(f"expected a substitution name after '$(' in {text!r}")
    name = m.group(0)
    pos = m.end()
    args: list[list[Part]] = []
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text):
            raise SubstitutionError(f"unterminated substitution '$({name}' in {text!r}")
        if text[pos] == ")":
            return Subst(name, args), pos + 1
        arg, pos = _parse_seq(text, pos, top=False)
        args.append(arg)


def find_package_prefix(pkg: str) -> str:
    """Prefix of an installed ROS package (the ament index, like ``ros2 pkg prefix``)."""
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix and os.path.isfile(
            os.path.join(prefix, "share", "ament_index", "resource_index", "packages", pkg)
        ):
            return prefix
    raise SubstitutionError(f"package '{pkg}' not found (is the workspace built and sourced?)")


_BIN_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMP_OPS = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


def safe_eval(expr: str):
    """Evaluate a small Python expression: literals, arithmetic, comparisons, and/or/not."""

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN_OPS:
            return _BIN_OPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not ev(node.operand)
            if isinstance(node.op, ast.USub):
                return -ev(node.operand)
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if isinstance(node, ast.BoolOp):
            vals = [ev(v) for v in node.values]
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            for op, right in zip(node.ops, node.comparators):
                r = ev(right)
                if type(op) not in _CMP_OPS or not _CMP_OPS[type(op)](left, r):
                    return False
                left = r
            return True
        raise SubstitutionError(f"eval: unsupported expression {expr!r}")

    try:
        return ev(ast.parse(expr, mode="eval"))
    except SyntaxError as e:
        raise SubstitutionError(f"eval: {e.msg} in {expr!r}") from None


def to_bool(text: str, what: str = "value") -> bool:
    """The launch condition rule: true/1 and false/0 (any case); anything else is an error."""
    t = str(text).strip().lower()
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise SubstitutionError(f"{what} {text!r} is not a boolean (true/false/1/0)")


@dataclass
class Context:
    """What substitutions see: launch variables, the environment, the current file."""

    variables: dict[str, str] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    file: str = ""
    anon: dict[str, str] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)
    warn: Callable[[str], None] = field(default=lambda text: None)

    def evaluate(self, value) -> str:
        if not isinstance(value, str):
            return value
        return self.perform(parse(value))

    def perform(self, parts: list[Part]) -> str:
        return "".join(p if isinstance(p, str) else self._one(p) for p in parts)

    def _args(self, sub: Subst, lo: int, hi: int) -> list[str]:
        if not lo <= len(sub.args) <= hi:
            want = f"{lo}" if lo == hi else f"{lo}..{hi}"
            raise SubstitutionError(f"$({sub.name}) takes {want} argument(s), got {len(sub.args)}")
        return [self.perform(a) for a in sub.args]

    def _one(self, sub: Subst) -> str:
        n = sub.name
        handler: Callable[[Subst], str] | None = getattr(self, "_s_" + n.replace("-", "_"), None)
        if handler is None:
            raise SubstitutionError(f"unknown substitution $({n} ...)")
        return handler(sub)

    def _s_var(self, sub):
        (name,) = self._args(sub, 1, 1)
        if name not in self.variables:
            raise SubstitutionError(
                f"launch variable '{name}' is not set (declare it with arg or let)"
            )
        return self.variables[name]

    def _s_env(self, sub):
        args = self._args(sub, 1, 2)
        if args[0] in self.environ:
            return self.environ[args[0]]
        if len(args) == 2:
            return args[1]
        raise SubstitutionError(f"environment variable '{args[0]}' is not set")

    def _s_optenv(self, sub):
        args = self._args(sub, 1, 2)
        return self.environ.get(args[0], args[1] if len(args) == 2 else "")

    def _s_find_pkg_share(self, sub):
        (pkg,) = self._args(sub, 1, 1)
        return os.path.join(find_package_prefix(pkg), "share", pkg)

    def _s_find_pkg_prefix(self, sub):
        (pkg,) = self._args(sub, 1, 1)
        return find_package_prefix(pkg)

    def _s_find_exec(self, sub):
        (name,) = self._args(sub, 1, 1)
        path = shutil.which(name, path=self.environ.get("PATH"))
        if not path:
            raise SubstitutionError(f"executable '{name}' not found on PATH")
        return path

    def _s_anon(self, sub):
        (name,) = self._args(sub, 1, 1)
        if name not in self.anon:
            suffix = "".join(
                self.rng.choice(string.ascii_lowercase + string.digits) for _ in range(8)
            )
            self.anon[name] = f"{name}_{os.getpid()}_{suffix}"
        return self.anon[name]

    def _s_dirname(self, sub):
        self._args(sub, 0, 0)
        return os.path.dirname(os.path.abspath(self.file)) if self.file else os.getcwd()

    def _s_filename(self, sub):
        self._args(sub, 0, 0)
        return os.path.basename(self.file)

    def _s_command(self, sub):
        args = self._args(sub, 1, 2)
        command_str = args[0]
        on_stderr = args[1] if len(args) == 2 else "fail"
        if on_stderr not in ("fail", "ignore", "warn", "capture"):
            raise SubstitutionError(
                "$(command): on_stderr must be one of fail, ignore, warn, "
                f"capture; got {on_stderr!r}"
            )
        try:
            result = subprocess.run(
                shlex.split(command_str),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if on_stderr == "capture" else subprocess.PIPE,
                text=True,
                env=self.environ,
            )
        except (FileNotFoundError, PermissionError) as e:
            raise SubstitutionError(f"$(command {command_str!r}): {e}") from None
        err = (result.stderr or "").strip()
        if result.returncode != 0:
            raise SubstitutionError(
                f"$(command {command_str!r}) failed with status "
                f"{result.returncode}" + (f": {err.splitlines()[-1]}" if err else "")
            )
        if err:
            if on_stderr == "fail":
                raise SubstitutionError(
                    f"$(command {command_str!r}) wrote to stderr: {err.splitlines()[-1]}"
                )
            if on_stderr == "warn":
                self.warn(f"$(command {command_str!r}) wrote to stderr: {err}")
        return result.stdout

    def _s_not(self, sub):
        (a,) = self._args(sub, 1, 1)
        return "false" if to_bool(a) else "true"

    def _s_and(self, sub):
        a, b = self._args(sub, 2, 2)
        return "true" if to_bool(a) and to_bool(b) else "false"

    def _s_or(self, sub):
        a, b = self._args(sub, 2, 2)
        return "true" if to_bool(a) or to_bool(b) else "false"

    def _s_equals(self, sub):
        a, b = self._args(sub, 2, 2)
        return "true" if a == b else "false"

    def _s_not_equals(self, sub):
        a, b = self._args(sub, 2, 2)
        return "true" if a != b else "false"

    def _s_eval(self, sub):
        (expr,) = self._args(sub, 1, 1)
        v = safe_eval(expr)
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)
