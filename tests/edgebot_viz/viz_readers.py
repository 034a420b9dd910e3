"""Read a bag back with two independent readers: the ``mcap`` library (+ mcap_ros2 decoding
from the schemas in the file) and ``rosbags`` (its own rosbag2 reader and CDR decoder)."""

import collections
import pathlib

import yaml
from mcap.reader import make_reader
from mcap_ros2.decoder import DecoderFactory
from rosbags.rosbag2 import Reader
from rosbags.typesys import Stores, get_typestore


def metadata(bag) -> dict:
    return yaml.safe_load((pathlib.Path(bag) / "metadata.yaml").read_text())[
        "rosbag2_bagfile_information"
    ]


def mcap_profile(path) -> str:
    with open(path, "rb") as f:
        return make_reader(f).get_header().profile


def read_mcap(bag) -> dict:
    """topic -> decoded messages (in file order) over every .mcap the metadata lists."""
    out = collections.defaultdict(list)
    for rel in metadata(bag)["relative_file_paths"]:
        with open(pathlib.Path(bag) / rel, "rb") as f:
            reader = make_reader(f, decoder_factories=[DecoderFactory()])
            for schema, channel, _message, decoded in reader.iter_decoded_messages(
                log_time_order=False
            ):
                assert schema.encoding == "ros2msg" and channel.message_encoding == "cdr"
                out[channel.topic].append(decoded)
    return dict(out)


def read_rosbags(bag) -> dict:
    store = get_typestore(Stores.ROS2_KILTED)
    out = collections.defaultdict(list)
    with Reader(pathlib.Path(bag)) as reader:
        for conn, _stamp, raw in reader.messages():
            out[conn.topic].append(store.deserialize_cdr(raw, conn.msgtype))
    return dict(out)
