"""The one entry point every edgebot node uses.

    def main(args=None):
        run_node(BaseController, args)

- a :class:`~edgebot_common.params.ParameterError` (or any ``ConfigError``) raised while the node
  is constructed prints one line ``[node] configuration error: parameter 'x' = v: allowed ...``
  and exits with status 2;
- SIGINT/SIGTERM end spinning cleanly; the node's ``shutdown()`` method (if any) runs before
  the node is destroyed, so drivers can put outputs into their safe state.
"""
from __future__ import annotations

import sys
import traceback
from typing import Callable, Optional

import rclpy
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor, SingleThreadedExecutor

from .params import ParameterError


class ConfigError(ValueError):
    """Bad configuration other than a single parameter (a malformed map file, a pin clash)."""


def run_node(factory: Callable[[], "rclpy.node.Node"], args: Optional[list] = None,
             threads: int = 1) -> None:
    rclpy.init(args=args)
    node = None
    code = 0
    try:
        try:
            node = factory()
        except (ParameterError, ConfigError) as e:
            name = getattr(factory, "NODE_NAME", getattr(factory, "__name__", "node"))
            print(f"[{name}] configuration error: {e}", file=sys.stderr, flush=True)
            code = 2
            return
        executor = MultiThreadedExecutor(num_threads=threads) if threads > 1 else SingleThreadedExecutor()
        executor.add_node(node)
        try:
            executor.spin()
        except (KeyboardInterrupt, ExternalShutdownException):
            pass
        except Exception:
            # SIGINT/SIGTERM shut the context down (rclpy's signal handler); when that lands
            # between the executor's "still ok?" check and its building the next wait set,
            # rclpy raises RCLError("context is not valid") instead of
            # ExternalShutdownException. That is the same clean stop, not a crash.
            if executor.context.ok():
                raise
    except Exception:
        traceback.print_exc()
        code = 1
    finally:
        if node is not None:
            shutdown = getattr(node, "shutdown", None)
            if callable(shutdown):
                try:
                    shutdown()
                except Exception:
                    traceback.print_exc()
                    code = code or 1
            try:
                node.destroy_node()
            except Exception:
                pass
        rclpy.try_shutdown()
        if code:
            sys.exit(code)
