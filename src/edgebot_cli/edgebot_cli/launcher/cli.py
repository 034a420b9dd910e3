"""``edgebot launch [options] <package> <file>.launch.yaml [name:=value ...]``
or ``edgebot launch [options] <path/to/file>.launch.yaml [name:=value ...]``."""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from .errors import LaunchError
from .loader import load, parse_cli_args
from .runner import Runner
from .substitutions import SubstitutionError, find_package_prefix


def _resolve(package_or_path: str, maybe_file: str | None):
    """(path, remaining-args-offset) like ros2 launch: a path, or a package and a file name."""
    if os.path.isfile(package_or_path):
        return package_or_path, 1
    if maybe_file is not None and ":=" not in maybe_file:
        try:
            share = os.path.join(find_package_prefix(package_or_path), "share", package_or_path)
        except SubstitutionError as e:
            raise LaunchError(str(e)) from None
        direct = os.path.join(share, maybe_file)
        if os.path.isfile(direct):
            return direct, 2
        for root, _dirs, files in os.walk(share):
            if maybe_file in files:
                return os.path.join(root, maybe_file), 2
        raise LaunchError(
            f"file '{maybe_file}' not found in the share directory of package "
            f"'{package_or_path}' ({share})"
        )
    if os.path.isfile(package_or_path):
        return package_or_path, 1
    raise LaunchError(f"'{package_or_path}' is neither a launch file nor followed by a file name")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        prog="edgebot launch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--duration",
        type=float,
        default=None,
        help="stop everything cleanly after this many seconds",
    )
    ap.add_argument(
        "-s", "--show-args", action="store_true", help="list the launch arguments and exit"
    )
    ap.add_argument(
        "-p",
        "--print",
        dest="print_plan",
        action="store_true",
        help="print the processes that would start and exit",
    )
    ap.add_argument("target", help="package name, or path to a .launch.yaml file")
    ap.add_argument("rest", nargs="*", help="[file] [name:=value ...]")
    ns = ap.parse_intermixed_args(argv)
    plan = None
    try:
        first = ns.rest[0] if ns.rest else None
        path, used = _resolve(ns.target, first)
        cli_args = parse_cli_args(ns.rest[used - 1 :])
        inspect = ns.show_args or ns.print_plan
        # inspecting a file meant for ros2 launch may show its Python includes; running may not
        plan = load(path, cli_args, keep_foreign_includes=inspect)
        for w in plan.warnings:
            print(f"edgebot launch: warning: {w}", file=sys.stderr, flush=True)
        if inspect:
            try:
                if ns.show_args:
                    for name, (default, desc) in plan.arguments.items():
                        print(f"'{name}': {desc}\n    (default: '{default}')")
                else:
                    for p in plan.processes:
                        print(f"{p.name}: {' '.join(p.cmd)}")
                    for inc, args in plan.foreign_includes:
                        print(
                            f"(ros2 launch only) include {inc} "
                            + " ".join(f"{k}:={v}" for k, v in args.items())
                        )
                sys.stdout.flush()
            except BrokenPipeError:  # `| head`
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0
        return Runner(plan, duration=ns.duration).run()
    except LaunchError as e:
        print(f"edgebot launch: {e}", file=sys.stderr)
        return 2
    finally:
        if plan is not None and plan.tmpdir:
            shutil.rmtree(plan.tmpdir, ignore_errors=True)
