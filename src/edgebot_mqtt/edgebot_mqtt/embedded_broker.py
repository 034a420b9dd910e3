"""An embedded MQTT 3.1.1 broker (amqtt, pure Python) for demos without a configured broker.

    broker = EmbeddedBroker("127.0.0.1", 0); broker.start(); broker.port  # the port it took
    ...; broker.stop()

Also an executable: ``ros2 run edgebot_mqtt embedded_broker --host 127.0.0.1 --port 1884``.
It is plain TCP, anonymous, no persistence: fine for a demo on one machine, not for production.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import threading


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self.port = port or _free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopped: asyncio.Event | None = None
        self.error: BaseException | None = None

    def _config(self) -> dict:
        return {
            "listeners": {
                "default": {
                    "type": "tcp",
                    "bind": f"{self.host}:{self.port}",
                    "max_connections": 100,
                }
            },
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }

    async def _main(self) -> None:
        from amqtt.broker import Broker

        self._stopped = asyncio.Event()
        broker = Broker(self._config())
        try:
            await broker.start()
        except BaseException as e:
            self.error = e
            self._started.set()
            return
        self._started.set()
        await self._stopped.wait()
        await broker.shutdown()

    def _run(self) -> None:
        logging.getLogger("amqtt").setLevel(logging.WARNING)
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._main())
        finally:
            self._loop.close()

    def start(self, timeout: float = 15.0) -> EmbeddedBroker:
        self._thread = threading.Thread(target=self._run, name="amqtt", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise RuntimeError(f"embedded broker did not start on {self.host}:{self.port}")
        if self.error is not None:
            raise RuntimeError(f"embedded broker failed on {self.host}:{self.port}: {self.error}")
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._stopped is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1884, help="0 = a free port")
    args, _ = ap.parse_known_args(argv)  # ignore --ros-args from launch
    b = EmbeddedBroker(args.host, args.port).start()
    print(f"embedded MQTT broker listening on {b.host}:{b.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: done.set())
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    done.wait()
    b.stop()


if __name__ == "__main__":
    main()
