"""Load a ROS 2 YAML launch file into a flat list of fully resolved processes (ROS-free).

Everything is decided at load time — arguments, conditions, substitutions, includes, package
and executable lookup, parameter files — so a bad file fails before any process starts, with
one line naming the file, the line and what is wrong.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import LaunchError
from .param_rules import ParamRuleError, node_param_value, set_parameter_value
from .substitutions import Context, SubstitutionError, find_package_prefix, parse, to_bool

# ----------------------------------------------------------------------------- YAML with lines


class _LineDict(dict):
    line = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node):
    loader.flatten_mapping(node)
    d = _LineDict(loader.construct_pairs(node))
    d.line = node.start_mark.line + 1
    return d


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(obj) -> int:
    return getattr(obj, "line", 0)


# ----------------------------------------------------------------------------- the plan


@dataclass
class ProcessSpec:
    name: str
    cmd: list[str]
    env: dict[str, str]
    cwd: str | None = None
    output: str = "log"  # screen | log | both
    respawn: bool = False
    respawn_delay: float = 0.0
    shutdown_on_exit: bool = False  # on_exit: shutdown
    sigterm_timeout: float = 5.0
    sigkill_timeout: float = 5.0
    shell: bool = False
    source: str = ""  # file:line that declared it


@dataclass
class LaunchPlan:
    processes: list[ProcessSpec] = field(default_factory=list)
    arguments: dict[str, tuple[str, str]] = field(
        default_factory=dict
    )  # name -> (default, description)
    logs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # what ros2 launch also only warns about
    # includes of Python/XML launch files, kept (not run) when the Loader is told to
    foreign_includes: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    tmpdir: str = ""


@dataclass
class _Scope:
    ctx: Context
    namespace: str = ""
    remaps: list[tuple[str, str]] = field(default_factory=list)
    global_params: dict[str, Any] = field(default_factory=dict)

    def child(self, file: str | None = None) -> _Scope:
        ctx = Context(
            variables=dict(self.ctx.variables),
            environ=dict(self.ctx.environ),
            file=file or self.ctx.file,
            anon=self.ctx.anon,
            rng=self.ctx.rng,
            warn=self.ctx.warn,
        )
        return _Scope(ctx, self.namespace, list(self.remaps), dict(self.global_params))


COMMON = {"if", "unless"}
PROC_KEYS = {
    "name",
    "cwd",
    "env",
    "output",
    "respawn",
    "respawn_delay",
    "launch-prefix",
    "on_exit",
    "sigterm_timeout",
    "sigkill_timeout",
}
KEYS = {
    "arg": {"name", "default", "description", "choice"},
    "let": {"name", "value"},
    "node": PROC_KEYS | {"pkg", "exec", "namespace", "args", "ros_args", "param", "remap"},
    "executable": PROC_KEYS | {"cmd", "shell"},
    "include": {"file", "arg"},
    "group": {"children", "scoped", "forwarding"},
    "push-ros-namespace": {"namespace"},
    "push_ros_namespace": {"namespace"},
    "set_env": {"name", "value"},
    "unset_env": {"name"},
    "set_remap": {"from", "to"},
    "set_parameter": {"name", "value"},
    "log": {"message"},
}
OUTPUTS = ("screen", "log", "both")


class Loader:
    """``keep_foreign_includes``: an include of a non-YAML launch file (``gz_sim.launch.py``) is
    recorded in ``plan.foreign_includes`` instead of failing -- for inspecting a file meant for
    ``ros2 launch`` (tests, ``--print``); running such a plan would leave that part out."""

    def __init__(self, tmpdir: str | None = None, keep_foreign_includes: bool = False):
        self.keep_foreign_includes = keep_foreign_includes
        self.plan = LaunchPlan()
        self.plan.tmpdir = tmpdir or tempfile.mkdtemp(prefix="edgebot-launch-")
        self._params_files = 0
        self._stack: list[str] = []

    # -- entry ---------------------------------------------------------------------------
    def load(
        self, path: str, cli_args: dict[str, str], environ: dict[str, str] | None = None
    ) -> LaunchPlan:
        ctx = Context(
            variables=dict(cli_args),
            environ=dict(environ if environ is not None else os.environ),
            file=os.path.abspath(path),
            warn=self.plan.warnings.append,
        )
        scope = _Scope(ctx)
        self._file(os.path.abspath(path), scope, top=True)
        return self.plan

    def _err(self, msg: str, obj=None, key: str = "", line: int = 0) -> LaunchError:
        return LaunchError(msg, self._stack[-1] if self._stack else "", line or _line(obj), key)

    def _file(self, path: str, scope: _Scope, top: bool = False) -> None:
        if path in self._stack:
            raise self._err(f"include cycle: {path} includes itself")
        if not os.path.isfile(path):
            raise self._err(f"launch file not found: {path}")
        if not path.endswith((".yaml", ".yml")):
            raise self._err(
                f"only YAML launch files are supported here, not {os.path.basename(path)}"
            )
        self._stack.append(path)
        try:
            try:
                with open(path, encoding="utf-8") as f:
                    doc = yaml.load(f, Loader=_LineLoader)
            except yaml.YAMLError as e:
                mark = getattr(e, "problem_mark", None)
                problem = getattr(e, "problem", None) or str(e).splitlines()[0]
                raise self._err(
                    f"malformed YAML: {problem}", line=(mark.line + 1) if mark else 0
                ) from None
            if not isinstance(doc, dict) or list(doc.keys()) != ["launch"]:
                raise self._err("the root must be a mapping with the single key 'launch'", doc)
            entities = doc["launch"]
            if entities is None:
                entities = []
            if not isinstance(entities, list):
                raise self._err("'launch' must hold a list of entities", doc, "launch")
            self._entities(entities, scope, top)
        finally:
            self._stack.pop()

    def _entities(self, entities: list, scope: _Scope, top: bool = False) -> None:
        for item in entities:
            if not isinstance(item, dict) or len(item) != 1:
                raise self._err(
                    "each entity must be a mapping with exactly one key (its type)", item
                )
            ((kind, body),) = item.items()
            if kind not in KEYS:
                raise self._err(
                    f"unknown entity type '{kind}' (supported: {', '.join(sorted(KEYS))})",
                    item,
                    kind,
                )
            line = _line(item)
            if kind == "group" and isinstance(body, list):
                self._group({"children": body}, scope, line)
                continue
            if not isinstance(body, dict):
                raise self._err(f"'{kind}' must be a mapping of attributes", item, kind)
            unknown = set(body) - KEYS[kind] - COMMON
            if unknown:
                raise self._err(
                    f"unknown key(s) {sorted(unknown)} in '{kind}' "
                    f"(allowed: {', '.join(sorted(KEYS[kind] | COMMON))})",
                    body,
                    kind,
                )
            if not self._condition(body, scope, kind):
                continue
            try:
                getattr(self, "_e_" + kind.replace("-", "_"))(body, scope, top)
            except SubstitutionError as e:
                raise self._err(str(e), body, kind) from None

    # -- helpers ---------------------------------------------------------------------------
    def _condition(self, body: dict, scope: _Scope, kind: str) -> bool:
        try:
            if "if" in body and not to_bool(
                scope.ctx.evaluate(self._text(body, "if", kind)), "'if' condition"
            ):
                return False
            if "unless" in body and to_bool(
                scope.ctx.evaluate(self._text(body, "unless", kind)), "'unless' condition"
            ):
                return False
        except SubstitutionError as e:
            raise self._err(str(e), body, kind) from None
        return True

    def _req(self, body: dict, key: str, kind: str) -> Any:
        if key not in body or body[key] is None:
            raise self._err(f"'{kind}' needs '{key}'", body, kind)
        return body[key]

    def _text(self, body: dict, key: str, kind: str, also=()) -> Any:
        """The raw attribute, typed as ros2 launch's ``Entity.get_attr`` demands: a string (or
        one of ``also``); a bare YAML ``true``/``5`` where a string is read is a TypeError there."""
        v = body[key]
        if isinstance(v, str) or (
            also and isinstance(v, also) and not (bool not in also and isinstance(v, bool))
        ):
            return v
        want = " or ".join(["a string"] + [t.__name__ for t in also])
        hint = ("true" if v else "false") if isinstance(v, bool) else v
        raise self._err(
            f"'{key}' of '{kind}' must be {want} under ros2 launch, got "
            f"{type(v).__name__} {v!r}"
            + (f" (quote it: \"{hint}\")" if not isinstance(v, (dict, list)) else ""),
            body,
            kind,
        )

    def _str(self, body: dict, key: str, scope: _Scope, kind: str, default=None) -> str | None:
        if key not in body:
            return default
        return scope.ctx.evaluate(self._text(body, key, kind))

    def _bool(
        self, body: dict, key: str, scope: _Scope, kind: str, default: bool, typed: bool = True
    ) -> bool:
        """``typed``: the attribute is read with ``data_type=bool`` there (a bare bool is fine);
        otherwise only a string is (``respawn``)."""
        if key not in body:
            return default
        v = self._text(body, key, kind, (bool,) if typed else ())
        if isinstance(v, bool):
            return v
        return to_bool(scope.ctx.evaluate(v), f"'{key}' of '{kind}'")

    def _float(self, body: dict, key: str, scope: _Scope, kind: str, default: float) -> float:
        if key not in body:
            return default
        v = self._text(body, key, kind, (float,))
        text = v if isinstance(v, float) else scope.ctx.evaluate(v)
        try:
            v = float(text)
        except (TypeError, ValueError):
            raise self._err(f"'{key}' must be a number, got {text!r}", body, kind) from None
        if v < 0:
            raise self._err(f"'{key}' must be >= 0, got {v}", body, kind)
        return v

    # -- entities --------------------------------------------------------------------------
    def _e_arg(self, body, scope, top):
        self._req(body, "name", "arg")
        name = self._text(body, "name", "arg")
        default = self._str(body, "default", scope, "arg")
        description = self._text(body, "description", "arg") if "description" in body else ""
        choices = None
        if "choice" in body:
            if not isinstance(body["choice"], list) or not all(
                isinstance(c, dict) and set(c) == {"value"} for c in body["choice"]
            ):
                raise self._err("'choice' must be a list of {value: ...}", body, "arg")
            choices = [self._text(c, "value", "choice") for c in body["choice"]]
        if top:
            self.plan.arguments.setdefault(
                name, (default if default is not None else "", description)
            )
        if name not in scope.ctx.variables:
            if default is None:
                raise self._err(
                    f"argument '{name}' has no value: give it as {name}:=<value>"
                    + (f" ({description})" if description else ""),
                    body,
                    "arg",
                )
            scope.ctx.variables[name] = default
        if choices is not None and scope.ctx.variables[name] not in choices:
            raise self._err(
                f"argument '{name}' = {scope.ctx.variables[name]!r} is not one of {choices}",
                body,
                "arg",
            )

    def _e_let(self, body, scope, top):
        self._req(body, "name", "let")
        self._req(body, "value", "let")
        scope.ctx.variables[self._str(body, "name", scope, "let")] = self._str(
            body, "value", scope, "let"
        )

    def _e_log(self, body, scope, top):
        self.plan.logs.append(self._str(body, "message", scope, "log", ""))

    def _e_set_env(self, body, scope, top):
        name = self._str(body, "name", scope, "set_env")
        self._req(body, "value", "set_env")
        scope.ctx.environ[name] = self._str(body, "value", scope, "set_env")

    def _e_unset_env(self, body, scope, top):
        scope.ctx.environ.pop(self._str(body, "name", scope, "unset_env"), None)

    def _e_set_remap(self, body, scope, top):
        self._req(body, "from", "set_remap")
        self._req(body, "to", "set_remap")
        scope.remaps.append(
            (self._str(body, "from", scope, "set_remap"), self._str(body, "to", scope, "set_remap"))
        )

    def _e_set_parameter(self, body, scope, top):
        self._req(body, "name", "set_parameter")
        self._req(body, "value", "set_parameter")
        name = self._str(body, "name", scope, "set_parameter")
        try:
            scope.global_params[name] = set_parameter_value(
                body["value"], self._evaluate(scope), name
            )
        except ParamRuleError as e:
            raise self._err(str(e), body, "set_parameter") from None

    def _e_push_ros_namespace(self, body, scope, top):
        ns = self._str(body, "namespace", scope, "push-ros-namespace", "")
        scope.namespace = _join_ns(scope.namespace, ns)

    def _group(self, body, scope, line):
        kids = body.get("children")
        if not isinstance(kids, list):
            raise LaunchError(
                "'group' needs a list of entities (or 'children: [...]')",
                self._stack[-1],
                line,
                "group",
            )
        scoped = self._bool(body, "scoped", scope, "group", True)
        forwarding = self._bool(body, "forwarding", scope, "group", True)
        if scoped:
            inner = scope.child()
            if not forwarding:
                inner.ctx.variables = {}
            self._entities(kids, inner)
        else:
            self._entities(kids, scope)

    def _e_group(self, body, scope, top):
        self._group(body, scope, _line(body))

    def _e_include(self, body, scope, top):
        path = self._str(body, "file", scope, "include")
        if not path:
            raise self._err("'include' needs 'file'", body, "include")
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(self._stack[-1]), path)
        foreign = self.keep_foreign_includes and not path.endswith((".yaml", ".yml"))
        if foreign and not os.path.isfile(path):
            raise self._err(f"launch file not found: {path}", body, "include")
        inner = scope.child(file=os.path.abspath(path))
        args = body.get("arg") or []
        if not isinstance(args, list):
            raise self._err("'arg' of 'include' must be a list of {name, value}", body, "include")
        for a in args:
            if (
                not isinstance(a, dict)
                or set(a) - {"name", "value"}
                or "name" not in a
                or "value" not in a
            ):
                raise self._err(
                    "each 'arg' of 'include' needs exactly 'name' and 'value'", a or body, "include"
                )
            inner.ctx.variables[self._str(a, "name", scope, "include")] = self._str(
                a, "value", scope, "include"
            )
        if foreign:
            self.plan.foreign_includes.append(
                (
                    os.path.abspath(path),
                    {
                        k: inner.ctx.variables[k]
                        for k in (self._str(a, "name", scope, "include") for a in args)
                    },
                )
            )
            return
        self._file(os.path.abspath(path), inner)

    # -- processes -------------------------------------------------------------------------
    def _proc_common(self, body, scope, kind) -> dict:
        output = self._str(body, "output", scope, kind, "log")
        if output not in OUTPUTS:
            raise self._err(f"'output' must be one of {list(OUTPUTS)}, got {output!r}", body, kind)
        env = dict(scope.ctx.environ)
        extra = body.get("env") or []
        if not isinstance(extra, list):
            raise self._err("'env' must be a list of {name, value}", body, kind)
        for e in extra:
            if not isinstance(e, dict) or set(e) != {"name", "value"}:
                raise self._err(
                    "each 'env' entry needs exactly 'name' and 'value'", e or body, kind
                )
            env[self._str(e, "name", scope, "env")] = self._str(e, "value", scope, "env")
        on_exit = self._str(body, "on_exit", scope, kind)
        if on_exit is not None and on_exit != "shutdown":
            raise self._err(f"'on_exit' supports only 'shutdown', got {on_exit!r}", body, kind)
        cwd = self._str(body, "cwd", scope, kind)
        if cwd is not None and not os.path.isdir(cwd):
            raise self._err(f"'cwd' {cwd!r} is not a directory", body, kind)
        prefix = self._str(body, "launch-prefix", scope, kind, "")
        return dict(
            output=output,
            env=env,
            cwd=cwd,
            shutdown_on_exit=on_exit == "shutdown",
            respawn=self._bool(body, "respawn", scope, kind, False, typed=False),
            respawn_delay=self._float(body, "respawn_delay", scope, kind, 0.0),
            sigterm_timeout=self._float(body, "sigterm_timeout", scope, kind, 5.0),
            sigkill_timeout=self._float(body, "sigkill_timeout", scope, kind, 5.0),
            prefix=shlex.split(prefix) if prefix else [],
            source=f"{self._stack[-1]}:{_line(body)}",
        )

    def _e_executable(self, body, scope, top):
        cmd_text = self._str(body, "cmd", scope, "executable")
        if not cmd_text:
            raise self._err("'executable' needs 'cmd'", body, "executable")
        common = self._proc_common(body, scope, "executable")
        shell = self._bool(body, "shell", scope, "executable", False)
        cmd = [cmd_text] if shell else shlex.split(cmd_text)
        name = self._str(body, "name", scope, "executable") or os.path.basename(cmd[0].split()[0])
        prefix = common.pop("prefix")
        self.plan.processes.append(ProcessSpec(name=name, cmd=prefix + cmd, shell=shell, **common))

    def _e_node(self, body, scope, top):
        pkg = self._str(body, "pkg", scope, "node")
        exe = self._str(body, "exec", scope, "node")
        if not pkg or not exe:
            raise self._err("'node' needs 'pkg' and 'exec'", body, "node")
        try:
            prefix_dir = find_package_prefix(pkg)
        except SubstitutionError as e:
            raise self._err(str(e), body, "node") from None
        path = os.path.join(prefix_dir, "lib", pkg, exe)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            avail = (
                sorted(os.listdir(os.path.join(prefix_dir, "lib", pkg)))
                if os.path.isdir(os.path.join(prefix_dir, "lib", pkg))
                else []
            )
            raise self._err(
                f"package '{pkg}' has no executable '{exe}'"
                + (f" (has: {', '.join(avail)})" if avail else ""),
                body,
                "node",
            )
        common = self._proc_common(body, scope, "node")
        name = self._str(body, "name", scope, "node")
        ns = _join_ns(scope.namespace, self._str(body, "namespace", scope, "node", "") or "")
        cmd = [path]
        args = self._str(body, "args", scope, "node")
        if args:
            cmd += shlex.split(args)
        ros = ["--ros-args"]
        if name:
            ros += ["-r", f"__node:={name}"]
        if ns:
            ros += ["-r", f"__ns:={ns}"]
        if scope.global_params:
            ros += ["--params-file", self._write_params(scope.global_params)]
        ros += self._node_params(body, scope)
        for frm, to in scope.remaps:
            ros += ["-r", f"{frm}:={to}"]
        remaps = body.get("remap") or []
        if not isinstance(remaps, list):
            raise self._err("'remap' must be a list of {from, to}", body, "node")
        for r in remaps:
            if not isinstance(r, dict) or set(r) != {"from", "to"}:
                raise self._err("each 'remap' needs exactly 'from' and 'to'", r or body, "node")
            ros += [
                "-r",
                f"{self._str(r, 'from', scope, 'remap')}:={self._str(r, 'to', scope, 'remap')}",
            ]
        extra_ros = self._str(body, "ros_args", scope, "node")
        if extra_ros:
            ros += shlex.split(extra_ros)
        prefix = common.pop("prefix")
        display = (name or exe) if not ns else f"{ns.rstrip('/')}/{name or exe}".lstrip("/")
        self.plan.processes.append(ProcessSpec(name=display, cmd=prefix + cmd + ros, **common))

    @staticmethod
    def _evaluate(scope):
        def ev(text: str):
            parts = parse(text)
            substituted = any(not isinstance(p, str) for p in parts)
            return scope.ctx.perform(parts), substituted

        return ev

    def _flatten_params(self, entries, scope, prefix, out):
        """Node.parse_nested_parameters: {name, value[, type]}, {name, param: [...]}, or
        {from[, allow_substs]} (top level only)."""
        if not isinstance(entries, list) or not entries:
            raise SubstitutionError("'param' must be a non-empty list of entries")
        for p in entries:
            if not isinstance(p, dict):
                raise SubstitutionError("each 'param' entry must be a mapping")
            keys = set(p)
            unknown = keys - {"name", "value", "type", "param", "from", "allow_substs"}
            if unknown:
                raise SubstitutionError(
                    f"unknown key(s) {sorted(unknown)} in a 'param' entry "
                    "(allowed: name+value[+type], name+param, from[+allow_substs])"
                )
            if "from" in keys:
                if keys - {"from", "allow_substs"}:
                    raise SubstitutionError(
                        "'from' of a 'param' entry excludes "
                        f"{sorted(keys - {'from', 'allow_substs'})}"
                    )
                if prefix:
                    raise SubstitutionError("'from' cannot be nested in a parameter group")
                substs = self._bool(p, "allow_substs", scope, "param", False)
                out.append(("from", self._str(p, "from", scope, "param"), substs))
                continue
            if "name" not in keys:
                raise SubstitutionError(
                    f"a 'param' entry needs 'name' or 'from'; got keys {sorted(keys)}"
                )
            if "allow_substs" in keys:
                raise SubstitutionError("'allow_substs' can only be used together with 'from'")
            name = prefix + self._str(p, "name", scope, "param")
            if "param" in keys:
                if keys & {"value", "type"}:
                    raise SubstitutionError(
                        f"parameter '{name}': nested 'param' excludes "
                        f"{sorted(keys & {'value', 'type'})}"
                    )
                self._flatten_params(p["param"], scope, name + ".", out)
            elif "value" in keys:
                try:
                    out.append(
                        (
                            "value",
                            name,
                            node_param_value(
                                p["value"], p.get("type"), self._evaluate(scope), name
                            ),
                        )
                    )
                except ParamRuleError as e:
                    raise SubstitutionError(str(e)) from None
            else:
                raise SubstitutionError(f"parameter '{name}' needs 'value' or nested 'param'")

    def _node_params(self, body, scope) -> list[str]:
        items: list = []
        try:
            if "param" in body:
                self._flatten_params(body["param"], scope, "", items)
        except SubstitutionError as e:
            raise self._err(str(e), body, "node") from None
        args: list[str] = []
        pending: dict[str, Any] = {}
        for item in items:
            if item[0] == "value":
                pending[item[1]] = item[2]
                continue
            if pending:
                args += ["--params-file", self._write_params(pending)]
                pending = {}
            path, substs = item[1], item[2]
            if not os.path.isfile(path):
                if substs:  # launch_ros opens it to substitute: FileNotFoundError there
                    raise self._err(
                        f"parameter file not found: {path} (allow_substs: true)", body, "node"
                    )
                # launch_ros: "Parameter file path is not a file" (a warning; the file is skipped)
                self.plan.warnings.append(
                    f"{self._stack[-1]}:{_line(body)}: parameter file not found, skipped: {path}"
                )
                continue
            if substs:
                with open(path, encoding="utf-8") as f:
                    text = scope.ctx.evaluate(f.read())
                self._params_files += 1
                path = os.path.join(self.plan.tmpdir, f"params_{self._params_files}.yaml")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(text)
            try:
                with open(path, encoding="utf-8") as f:
                    yaml.safe_load(f)
            except yaml.YAMLError as e:
                what = f"{item[1]} (after substitution)" if substs else path
                raise self._err(
                    f"parameter file {what} is not valid YAML: {str(e).splitlines()[0]}",
                    body,
                    "node",
                ) from None
            args += ["--params-file", path]
        if pending:
            args += ["--params-file", self._write_params(pending)]
        return args

    def _write_params(self, params: dict[str, Any]) -> str:
        self._params_files += 1
        path = os.path.join(self.plan.tmpdir, f"params_{self._params_files}.yaml")
        nested: dict[str, Any] = {}
        for key, v in params.items():
            node = nested
            parts = key.split(".")
            for p in parts[:-1]:
                node = node.setdefault(p, {})
            node[parts[-1]] = v
        with open(path, "w", encoding="utf-8") as f:
            yaml.safe_dump({"/**": {"ros__parameters": nested}}, f, default_flow_style=False)
        return path


def _join_ns(base: str, ns: str) -> str:
    if not ns:
        return base
    if ns.startswith("/"):
        return "/" + ns.strip("/")
    joined = "/".join(x for x in (base.strip("/"), ns.strip("/")) if x)
    return "/" + joined if joined else ""


def parse_cli_args(items: list[str]) -> dict[str, str]:
    """``name:=value`` pairs from the command line, by ros2launch's ``parse_launch_arguments``:
    no ``:=``, a leading ``:=`` or an empty value (``name:=``) is an error; the last one wins."""
    out = {}
    for item in items:
        count = item.count(":=")
        if count == 0 or item.startswith(":=") or (count == 1 and item.endswith(":=")):
            raise LaunchError(
                f"malformed launch argument {item!r}, expected format "
                "'<name>:=<value>' (an empty value is written name:=\"''\")"
            )
        k, v = item.split(":=", 1)
        out[k] = v
    return out


def load(
    path: str,
    cli_args: dict[str, str],
    environ=None,
    tmpdir=None,
    keep_foreign_includes: bool = False,
) -> LaunchPlan:
    return Loader(tmpdir, keep_foreign_includes).load(path, cli_args, environ)
