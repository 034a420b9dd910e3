"""A rosbag2-compatible MCAP bag writer (ROS-free): serialized CDR in, a bag directory out.

The bag is a directory like ``ros2 bag record -s mcap`` makes::

    <bag>/metadata.yaml         rosbag2 metadata (version 8, readable by Jazzy and later)
    <bag>/<bag>_0.mcap          MCAP, profile ``ros2``, ``ros2msg`` schemas, ``cdr`` messages
    <bag>/<bag>_1.mcap          ... after a rotation by size or time

Crash safety: messages are buffered in an MCAP chunk in memory. At every checkpoint (chunk full,
``flush_period`` elapsed, rotation, close) the chunk and its message indexes are written, then a
*provisional end* (DataEnd + a Footer without summary + the end magic) is written after them and
the file position moved back onto it, so the next chunk overwrites it. So at any moment between
checkpoints the file on disk is a complete, summary-less MCAP that ends after the last chunk,
and ``metadata.yaml`` (rewritten atomically) counts exactly those messages: a SIGKILLed recorder
leaves a bag that MCAP readers and ``rosbags`` open. A clean close writes the real summary.

A write error (disk full, file size limit) truncates the file back to the end of the last
complete chunk, restores the provisional end there, and stops the writer with ``failed`` set;
what was written before stays readable.
"""

from __future__ import annotations

import errno
import os
import pathlib
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml
from mcap.writer import CompressionType, Writer

from . import msgdefs

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

METADATA_VERSION = 8
MCAP_MAGIC = b"\x89MCAP0\r\n"
# DataEnd (op 0x0F, len 4, crc 0) + Footer (op 0x02, len 20, no summary) + magic
PROVISIONAL_END = (
    struct.pack("<BQI", 0x0F, 4, 0) + struct.pack("<BQQQI", 0x02, 20, 0, 0, 0) + MCAP_MAGIC
)

COMPRESSION = {
    "zstd": CompressionType.ZSTD,
    "lz4": CompressionType.LZ4,
    "none": CompressionType.NONE,
}

# rmw enum values as rosbag2 writes them into offered_qos_profiles (metadata version 8)
_INFINITE = {"sec": 2147483647, "nsec": 4294967295}


def qos_profile_dict(
    history: int, depth: int, reliability: int, durability: int, liveliness: int = 1
) -> dict:
    """One offered QoS profile in rosbag2's metadata-v8 shape (rmw enum integers)."""
    return {
        "history": int(history),
        "depth": int(depth),
        "reliability": int(reliability),
        "durability": int(durability),
        "deadline": dict(_INFINITE),
        "lifespan": dict(_INFINITE),
        "liveliness": int(liveliness),
        "liveliness_lease_duration": dict(_INFINITE),
        "avoid_ros_namespace_conventions": False,
    }


def qos_yaml(profiles: list[dict]) -> str:
    """The ``offered_qos_profiles`` string rosbag2 (v8) stores per topic."""
    if not profiles:
        return ""
    return yaml.safe_dump(profiles, default_flow_style=False, sort_keys=False).strip()


class _File:
    """Unbuffered file that never loses a short write silently (mcap ignores write's result)."""

    def __init__(self, path: pathlib.Path):
        self.path = path
        self._f = open(path, "w+b", buffering=0)

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            n = self._f.write(view)
            if not n:
                raise OSError(errno.ENOSPC, "no space left (short write)", str(self.path))
            view = view[n:]
        return total

    def tell(self) -> int:
        return self._f.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def truncate(self, size: int | None = None) -> int:
        return self._f.truncate(size)

    def flush(self) -> None:
        pass  # unbuffered

    def fileno(self) -> int:
        return self._f.fileno()

    def close(self) -> None:
        self._f.close()


@dataclass
class _Topic:
    name: str
    type: str
    qos: str
    type_hash: str
    count: int = 0  # committed (on disk, counted in metadata.yaml)
    pending: int = 0


@dataclass
class _FileStats:
    path: str
    start_ns: int | None = None
    end_ns: int | None = None
    count: int = 0


@dataclass
class _Open:
    """The MCAP file being written."""

    file: _File
    writer: Writer
    stats: _FileStats
    opened_at: float
    good_end: int = 0  # end of the last complete chunk
    schema_ids: dict[str, int] = field(default_factory=dict)
    channel_ids: dict[str, int] = field(default_factory=dict)
    sequences: dict[int, int] = field(default_factory=dict)
    pending_bytes: int = 0
    pending_count: int = 0
    pending_start: int | None = None
    pending_end: int | None = None


class BagWriteError(RuntimeError):
    pass


class BagWriter:
    """Write serialized messages into a rosbag2 MCAP bag directory.

    ``max_file_bytes`` / ``max_file_duration_s`` (0 = off) rotate to a new file;
    ``chunk_bytes`` bounds the in-memory chunk (and what a crash can lose);
    :meth:`checkpoint` (call it periodically) makes everything so far durable and readable.
    """

    def __init__(
        self,
        bag_dir,
        *,
        max_file_bytes: int = 0,
        max_file_duration_s: float = 0.0,
        chunk_bytes: int = 1 << 20,
        compression: str = "zstd",
        ros_distro: str = "",
        clock: Callable[[], float] = time.monotonic,
        log_error: Callable[[str], None] | None = None,
    ):
        self.dir = pathlib.Path(bag_dir)
        if self.dir.exists() and any(self.dir.iterdir()):
            raise BagWriteError(f"bag directory {self.dir} exists and is not empty")
        self.dir.mkdir(parents=True, exist_ok=True)
        if compression not in COMPRESSION:
            raise ValueError(f"compression {compression!r}: must be one of {sorted(COMPRESSION)}")
        self.max_file_bytes = int(max_file_bytes)
        self.max_file_duration_s = float(max_file_duration_s)
        self.chunk_bytes = int(chunk_bytes)
        self.compression = compression
        self.ros_distro = ros_distro or os.environ.get("ROS_DISTRO", "")
        self._clock = clock
        self._log_error = log_error
        self.topics: dict[str, _Topic] = {}
        self.files: list[_FileStats] = []
        self._cur: _Open | None = None
        self.failed: str | None = None
        self.closed = False
        self.bytes_written = 0
        self.metadata_period_s = 1.0
        self._metadata_at = -float("inf")
        self._metadata_topics = -1
        self._open_file()
        self._write_metadata()

    # -- public --------------------------------------------------------------------------
    def add_topic(self, topic: str, type_name: str, offered_qos: str = "") -> None:
        """Declare a topic (``/imu/data``, ``sensor_msgs/msg/Imu``); ``UnknownMessageType``
        when its ``.msg`` is not installed."""
        if topic in self.topics:
            return
        msgdefs.ros2msg_definition(type_name)  # fail early when the definition is missing
        self.topics[topic] = _Topic(
            topic, msgdefs.full_name(type_name), offered_qos, msgdefs.type_hash(type_name)
        )

    @property
    def message_count(self) -> int:
        return sum(t.count for t in self.topics.values())

    def write(
        self, topic: str, data: bytes, log_time_ns: int, publish_time_ns: int | None = None
    ) -> bool:
        """Buffer one message; False when the writer has failed or is closed."""
        if self.failed or self.closed:
            return False
        t = self.topics[topic]
        cur = self._cur
        cid = self._channel(cur, t)
        seq = cur.sequences.get(cid, 0) + 1
        cur.sequences[cid] = seq
        cur.writer.add_message(
            channel_id=cid,
            log_time=log_time_ns,
            data=bytes(data),
            publish_time=publish_time_ns if publish_time_ns is not None else log_time_ns,
            sequence=seq & 0xFFFFFFFF,
        )
        t.pending += 1
        cur.pending_count += 1
        cur.pending_bytes += len(data)
        cur.pending_start = (
            log_time_ns if cur.pending_start is None else min(cur.pending_start, log_time_ns)
        )
        cur.pending_end = (
            log_time_ns if cur.pending_end is None else max(cur.pending_end, log_time_ns)
        )
        if cur.pending_bytes >= self.chunk_bytes:
            self.checkpoint(metadata=False)
        return not self.failed

    def checkpoint(self, metadata: bool = True) -> bool:
        """Write the buffered chunk and ``metadata.yaml``; rotate when due. False after a failure.

        With ``metadata=False`` (a chunk filled up between periodic checkpoints) the metadata
        is rewritten only when a topic or file appeared or ``metadata_period_s`` has passed:
        readers take the messages from the MCAP files, the metadata must only name them all.
        """
        if self.failed or self.closed:
            return False
        try:
            self._flush_chunk()
            rotated = False
            if self._rotation_due():
                self._finish_file()
                self._open_file()
                rotated = True
            if (
                metadata
                or rotated
                or self._metadata_topics != len(self.topics)
                or self._clock() - self._metadata_at >= self.metadata_period_s
            ):
                self._write_metadata()
        except OSError as e:
            self._fail(e)
            return False
        return True

    def close(self) -> None:
        """Finish the file (full MCAP summary) and the metadata. Safe to call twice."""
        if self.closed:
            return
        if not self.failed:
            try:
                self._flush_chunk()
                self._finish_file()
                self._write_metadata()
            except OSError as e:
                self._fail(e)
        self.closed = True
        if self._cur is not None:
            try:
                self._cur.file.close()
            except OSError:
                pass
            self._cur = None

    # -- internals -----------------------------------------------------------------------
    def _open_file(self) -> None:
        name = f"{self.dir.name}_{len(self.files)}.mcap"
        f = _File(self.dir / name)
        w = Writer(f, chunk_size=1 << 62, compression=COMPRESSION[self.compression])
        w.start(profile="ros2", library="edgebot_viz mcap_recorder")
        stats = _FileStats(name)
        self.files.append(stats)
        self._cur = _Open(file=f, writer=w, stats=stats, opened_at=self._clock())
        w.flush()
        self._commit_end(self._cur)

    def _channel(self, cur: _Open, t: _Topic) -> int:
        cid = cur.channel_ids.get(t.name)
        if cid is None:
            sid = cur.schema_ids.get(t.type)
            if sid is None:
                sid = cur.writer.register_schema(
                    name=t.type,
                    encoding="ros2msg",
                    data=msgdefs.ros2msg_definition(t.type).encode(),
                )
                cur.schema_ids[t.type] = sid
            cid = cur.writer.register_channel(
                topic=t.name,
                message_encoding="cdr",
                schema_id=sid,
                metadata={"offered_qos_profiles": t.qos, "topic_type_hash": t.type_hash},
            )
            cur.channel_ids[t.name] = cid
        return cid

    def _commit_end(self, cur: _Open) -> None:
        """Write the provisional end at the current position and step back onto it."""
        pos = cur.file.tell()
        cur.file.write(PROVISIONAL_END)
        cur.file.truncate(pos + len(PROVISIONAL_END))
        cur.file.seek(pos)
        cur.good_end = pos

    def _flush_chunk(self) -> None:
        cur = self._cur
        if cur is None or cur.pending_count == 0:
            return
        before = cur.good_end
        cur.writer.flush()
        self._commit_end(cur)
        self.bytes_written += cur.good_end - before
        st = cur.stats
        st.count += cur.pending_count
        st.start_ns = (
            cur.pending_start if st.start_ns is None else min(st.start_ns, cur.pending_start)
        )
        st.end_ns = cur.pending_end if st.end_ns is None else max(st.end_ns, cur.pending_end)
        for t in self.topics.values():
            t.count += t.pending
            t.pending = 0
        cur.pending_bytes = cur.pending_count = 0
        cur.pending_start = cur.pending_end = None

    def _rotation_due(self) -> bool:
        cur = self._cur
        if cur is None or cur.stats.count == 0:
            return False
        if self.max_file_bytes and cur.good_end >= self.max_file_bytes:
            return True
        if self.max_file_duration_s and self._clock() - cur.opened_at >= self.max_file_duration_s:
            return True
        return False

    def _finish_file(self) -> None:
        cur = self._cur
        if cur is None:
            return
        cur.writer.finish()
        end = cur.file.tell()
        cur.file.truncate(end)
        cur.file.close()
        self._cur = None

    def _fail(self, err: OSError) -> None:
        cur = self._cur
        where = cur.file.path if cur is not None else self.dir
        self.failed = f"write to {where} failed: {err.strerror or err} (errno {err.errno})"
        # messages not yet on disk are lost; what is on disk stays readable
        for t in self.topics.values():
            t.pending = 0
        if cur is not None:
            try:
                cur.file.truncate(cur.good_end)
                cur.file.seek(cur.good_end)
                cur.file.write(PROVISIONAL_END)
            except OSError:
                pass
        try:
            self._write_metadata()
        except OSError:
            pass
        if self._log_error:
            self._log_error(self.failed)

    def metadata(self) -> dict:
        files = [f for f in self.files]
        starts = [f.start_ns for f in files if f.start_ns is not None]
        ends = [f.end_ns for f in files if f.end_ns is not None]
        start = min(starts) if starts else 0
        duration = (max(ends) - start) if ends else 0
        return {
            "rosbag2_bagfile_information": {
                "version": METADATA_VERSION,
                "storage_identifier": "mcap",
                "duration": {"nanoseconds": duration},
                "starting_time": {"nanoseconds_since_epoch": start},
                "message_count": sum(f.count for f in files),
                "topics_with_message_count": [
                    {
                        "topic_metadata": {
                            "name": t.name,
                            "type": t.type,
                            "serialization_format": "cdr",
                            "offered_qos_profiles": t.qos,
                            "type_description_hash": t.type_hash,
                        },
                        "message_count": t.count,
                    }
                    for t in self.topics.values()
                ],
                "compression_format": "",
                "compression_mode": "",
                "relative_file_paths": [f.path for f in files],
                "files": [
                    {
                        "path": f.path,
                        "starting_time": {"nanoseconds_since_epoch": f.start_ns or 0},
                        "duration": {
                            "nanoseconds": (f.end_ns - f.start_ns) if f.start_ns is not None else 0
                        },
                        "message_count": f.count,
                    }
                    for f in files
                ],
                "custom_data": {},
                "ros_distro": self.ros_distro,
            }
        }

    def _write_metadata(self) -> None:
        self._metadata_at = self._clock()
        self._metadata_topics = len(self.topics)
        text = yaml.dump(self.metadata(), Dumper=_Dumper, default_flow_style=False, sort_keys=False)
        fd, tmp = tempfile.mkstemp(prefix=".metadata.", suffix=".yaml", dir=self.dir)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(text)
            os.replace(tmp, self.dir / "metadata.yaml")
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
