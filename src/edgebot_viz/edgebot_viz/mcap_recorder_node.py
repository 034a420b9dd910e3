"""mcap_recorder: record chosen topics into a rosbag2 MCAP bag (``ros2 bag play``-able).

Raw subscriptions (serialized CDR, never deserialized) feed :class:`BagWriter`; topics are
discovered by polling the graph, so topics that appear later are recorded too.
"""

from __future__ import annotations

import datetime
import pathlib
import signal
import sys

from rclpy.node import Node

from edgebot_common import qos as Q
from edgebot_common.diagnostics import ERROR, OK, WARN, Diagnostics
from edgebot_common.node_main import ConfigError, run_node
from edgebot_common.params import ParamSpec
from edgebot_common.ros_params import declare_params
from edgebot_common.throttle import RejectCounter

from . import msgdefs
from .bag_writer import COMPRESSION, BagWriteError, BagWriter, qos_yaml
from .drain import drain
from .filters import TopicFilter, TopicRates, check_patterns, check_rate_rules
from .ros_util import message_class, offered_qos, subscription_qos

SPECS = [
    ParamSpec(
        "topics",
        [".*"],
        "topics to record: regular expressions matched against the fully qualified name",
        item_type=str,
        check=check_patterns,
    ),
    ParamSpec(
        "exclude",
        ["/parameter_events", "/rosout"],
        "topics never recorded (regexes)",
        item_type=str,
        check=check_patterns,
    ),
    ParamSpec(
        "max_rate", 0.0, "Hz: record at most this many messages per topic (0 = all)", min=0.0
    ),
    ParamSpec(
        "topic_rates",
        [""],
        "per-topic maximum rates '<regex>=<Hz>' (0 = all), first match wins, else max_rate",
        item_type=str,
        check=lambda v: check_rate_rules([r for r in v if r]),
    ),
    ParamSpec("output_dir", "recordings", "directory the bag directory is created in"),
    ParamSpec("bag_name", "", "bag directory name; empty: edgebot_<UTC date_time>"),
    ParamSpec("max_file_size_mb", 0.0, "rotate to a new .mcap after this size (0 = off)", min=0.0),
    ParamSpec(
        "max_file_duration",
        0.0,
        "s: rotate to a new .mcap after this time (0 = off)",
        min=0.0,
        renamed_from=("max_file_duration_s",),
    ),
    ParamSpec(
        "chunk_size_kb",
        1024,
        "MCAP chunk size: buffered in memory, what a crash can lose",
        min=1,
        max=1 << 20,
    ),
    ParamSpec(
        "flush_period",
        1.0,
        "s: write the buffered chunk at least this often",
        min=0.05,
        max=3600.0,
        renamed_from=("flush_period_s",),
    ),
    ParamSpec("compression", "zstd", "chunk compression", choices=sorted(COMPRESSION)),
    ParamSpec(
        "discovery_period",
        1.0,
        "s: how often the topic list is polled",
        min=0.05,
        max=60.0,
        renamed_from=("discovery_period_s",),
    ),
]


class McapRecorder(Node):
    NODE_NAME = "mcap_recorder"

    def __init__(self):
        super().__init__(self.NODE_NAME)
        self.p = declare_params(self, SPECS)
        # A file size limit (ulimit -f) must become a write error (EFBIG), not a SIGXFSZ kill.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        self._filter = TopicFilter(self.p["topics"], self.p["exclude"])
        self._rates = TopicRates(self.p["topic_rates"], self.p["max_rate"])
        name = self.p["bag_name"] or datetime.datetime.now(datetime.timezone.utc).strftime(
            "edgebot_%Y%m%d_%H%M%S"
        )
        if "/" in name or name in (".", ".."):
            raise ConfigError(f"parameter 'bag_name' = {name!r}: must be a plain directory name")
        self.bag_dir = pathlib.Path(self.p["output_dir"]).expanduser() / name
        self._rejects = RejectCounter(log=self.get_logger().warning)
        try:
            self.writer = BagWriter(
                self.bag_dir,
                max_file_bytes=int(self.p["max_file_size_mb"] * 1e6),
                max_file_duration_s=self.p["max_file_duration"],
                chunk_bytes=self.p["chunk_size_kb"] * 1024,
                compression=self.p["compression"],
                log_error=self.get_logger().error,
            )
        except (BagWriteError, OSError) as e:
            raise ConfigError(f"cannot create bag {self.bag_dir}: {e}") from None
        self._subs = {}
        self._skipped = set()
        self._stopped = False
        self.diag = Diagnostics(self, hardware_id=str(self.bag_dir))
        self.diag.add("recording", self._diag)
        self.create_timer(self.p["flush_period"], self._checkpoint)
        self.create_timer(self.p["discovery_period"], self._discover)
        self._discover()
        self.get_logger().info(f"recording to {self.bag_dir}")

    # -- discovery -----------------------------------------------------------------------
    def _discover(self) -> None:
        if self._stopped:
            return
        for topic, types in self.get_topic_names_and_types():
            if topic in self._subs or topic in self._skipped or not self._filter.allowed(topic):
                continue
            if not self.get_publishers_info_by_topic(topic):
                continue  # only subscribers so far: QoS and type are not known yet
            type_name = types[0]
            try:
                self.writer.add_topic(topic, type_name, qos_yaml(offered_qos(self, topic)))
            except msgdefs.UnknownMessageType as e:
                self._skipped.add(topic)
                self._rejects.reject("unknown_type", f"not recording {topic}: {e}")
                continue
            msg_class = self._import(type_name)
            if msg_class is None:
                self._skipped.add(topic)
                continue
            self._subs[topic] = self.create_subscription(
                msg_class,
                topic,
                lambda data, t=topic: self._on_message(t, data),
                subscription_qos(self, topic, Q.RECORDING),
                raw=True,
            )
            hz = self._rates.rate(topic)
            self.get_logger().info(
                f"recording {topic} [{type_name}]" + (f" at most {hz:g} Hz" if hz else "")
            )

    def _import(self, type_name: str):
        try:
            return message_class(type_name)
        except LookupError as e:
            self._rejects.reject("unknown_type", str(e))
            return None

    # -- data ----------------------------------------------------------------------------
    def _on_message(self, topic: str, data: bytes) -> None:
        """This message, then those already queued behind it (one wake-up per burst)."""
        if self._record(topic, data):
            drain(self._subs.get(topic), lambda d: self._record(topic, d))

    def _record(self, topic: str, data: bytes) -> bool:
        """False once recording has stopped (stop taking messages)."""
        if self._stopped:
            return False
        now = self.get_clock().now().nanoseconds
        if not self._rates.allow(topic, now * 1e-9):
            return True  # over the topic's maximum rate
        if not self.writer.write(topic, data, now):
            self._stop_recording()
            return False
        return True

    def _checkpoint(self) -> None:
        if not self._stopped and not self.writer.checkpoint():
            self._stop_recording()

    def _stop_recording(self) -> None:
        """After a write failure: stop subscribing, keep the node (and its diagnostics) alive."""
        if self._stopped:
            return
        self._stopped = True
        for sub in self._subs.values():
            self.destroy_subscription(sub)
        self._subs.clear()
        self.get_logger().error(
            f"recording stopped: {self.writer.failed}; {self.writer.message_count} messages "
            f"before the failure are readable in {self.bag_dir}"
        )

    def _diag(self):
        w = self.writer
        values = {
            "bag": str(self.bag_dir),
            "topics": len(self._subs),
            "messages": w.message_count,
            "bytes_written": w.bytes_written,
            "files": len(w.files),
            "skipped_topics": len(self._skipped),
            "rate_limited": self._rates.dropped,
        }
        if w.failed:
            return ERROR, f"recording stopped: {w.failed}", values
        if self._skipped:
            return WARN, "recording; some topics skipped (unknown types)", values
        return OK, "recording", values

    def shutdown(self) -> None:
        self.writer.close()
        # plain print: at SIGINT/SIGTERM the context (and with it /rosout) is already shut down
        print(
            f"[{self.NODE_NAME}] bag closed: {self.bag_dir} ({self.writer.message_count} messages"
            f"{', incomplete: ' + self.writer.failed if self.writer.failed else ''})",
            file=sys.stderr,
            flush=True,
        )


def main(args=None):
    run_node(McapRecorder, args)


if __name__ == "__main__":
    main()
