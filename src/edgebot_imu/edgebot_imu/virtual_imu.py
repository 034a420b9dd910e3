"""The virtual I²C IMU: register-level models of the MPU-6050 and the BNO055, fed by a motion
source, served over a local TCP socket (ROS-free).

    from edgebot_imu.virtual_imu import VirtualImuServer
    srv = VirtualImuServer(chip="mpu6050", address=0x68, seed=0, noise=True)
    bus_spec = srv.start(host="127.0.0.1", port=0)        # "tcp://127.0.0.1:40123"
    srv.set_motion(accel=(0, 0, 9.81), gyro=(0, 0, 0), orientation=None)
    srv.inject_errors(3)                                   # next 3 transactions fail with EIO
    srv.stop()

The models hold the same registers the drivers touch, with the chips' scaling, saturation,
sample rate, noise, a per-device bias (seeded) and a random-walk bias drift. The data
registers refresh at the chip's configured sample rate from the motion source at that time.
``edgebot virtual-imu`` (:func:`main`) runs one with a scripted trajectory.

Honest limits: the BNO055 model's fused quaternion is the true orientation plus noise (Bosch's
fusion is not modelled), and its "self-calibration" completes after a few seconds at rest.
"""

from __future__ import annotations

import argparse
import errno
import math
import random
import signal
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable

from . import bno055 as B
from . import mpu6050 as M
from . import quat as Q
from .bus import OP_READ_BLOCK, OP_READ_BYTE, OP_WRITE_BLOCK, OP_WRITE_BYTE
from .motion import PushedMotion, make_trajectory
from .sample import GRAVITY

CHIPS = {"mpu6050": M.DEFAULT_ADDRESS, "bno055": B.DEFAULT_ADDRESS}


def _clip16(v: float) -> int:
    return max(-32768, min(32767, int(round(v))))


class BusFault:
    """Error injection shared by the models: EIO for the next n transactions, NACK while absent."""

    def __init__(self):
        self.fail_next = 0
        self.present = True
        self.spikes = 0

    def spike_due(self) -> bool:
        """Corrupt every other sample while spikes are pending (isolated glitches)."""
        if self.spikes <= 0:
            return False
        self._spike_toggle = not getattr(self, "_spike_toggle", False)
        if self._spike_toggle:
            self.spikes -= 1
        return self._spike_toggle

    def check(self) -> None:
        if not self.present:
            raise OSError(errno.EREMOTEIO, "NACK (device absent)")
        if self.fail_next > 0:
            self.fail_next -= 1
            raise OSError(errno.EIO, "injected bus error")


class RegisterModel:
    """128 registers; subclasses refresh data registers on read and react to writes."""

    CHIP = "?"

    def __init__(self, address: int, motion, clock: Callable[[], float], seed: int, noise: bool):
        self.address = address
        self.motion = motion
        self.clock = clock
        self.t0 = clock()
        self.rng = random.Random(seed)
        self.noise = noise
        self.regs = bytearray(128)
        self.fault = BusFault()
        self.lock = threading.Lock()
        self.samples = 0
        self.last_truth = None  # MotionState of the newest sample (for tests)
        self.last_sample_t = None

    def now(self) -> float:
        return self.clock() - self.t0

    def _gauss(self, sigma: float) -> float:
        return self.rng.gauss(0.0, sigma) if (self.noise and sigma > 0) else 0.0

    # -- transactions (the server calls these with the lock held) -------------------------------
    def read(self, reg: int, n: int) -> bytes:
        self.fault.check()
        if reg + n > len(self.regs):
            raise OSError(errno.EIO, "read past the register file")
        self.before_read(reg, n)
        return bytes(self.regs[reg : reg + n])

    def write(self, reg: int, data: bytes) -> None:
        self.fault.check()
        for i, v in enumerate(data):
            if reg + i >= len(self.regs):
                raise OSError(errno.EIO, "write past the register file")
            self.on_write(reg + i, v)

    def before_read(self, reg: int, n: int) -> None:
        pass

    def on_write(self, reg: int, value: int) -> None:
        self.regs[reg] = value


class Mpu6050Model(RegisterModel):
    CHIP = "mpu6050"
    # noise densities and bias figures from the datasheet's typical values
    GYRO_NOISE_DPS_RTHZ = 0.005
    ACCEL_NOISE_G_RTHZ = 400e-6
    GYRO_BIAS_DPS = 2.0  # initial zero-rate offset, per axis (± uniform)
    ACCEL_BIAS_G = 0.04  # zero-g offset, per axis (± uniform)
    GYRO_BIAS_WALK_DPS_RTS = 0.0005  # random-walk drift of the gyro bias, °/s/√s

    def __init__(
        self, address=M.DEFAULT_ADDRESS, motion=None, clock=time.monotonic, seed=0, noise=True
    ):
        super().__init__(address, motion, clock, seed, noise)
        r = self.rng
        if noise:
            self.gyro_bias = [
                math.radians(r.uniform(-self.GYRO_BIAS_DPS, self.GYRO_BIAS_DPS)) for _ in range(3)
            ]
            self.accel_bias = [
                r.uniform(-self.ACCEL_BIAS_G, self.ACCEL_BIAS_G) * GRAVITY for _ in range(3)
            ]
        else:
            self.gyro_bias = [0.0, 0.0, 0.0]
            self.accel_bias = [0.0, 0.0, 0.0]
        self.temperature = 25.0 + (r.uniform(-2, 2) if noise else 0.0)
        self._sample_index = None
        self._bias_t = None
        self.power_on_reset()

    def power_on_reset(self) -> None:
        self.regs[:] = bytes(128)
        self.regs[M.WHO_AM_I] = M.WHO_AM_I_VALUE
        self.regs[M.PWR_MGMT_1] = M.PWR_SLEEP
        self._sample_index = None
        self.fifo = bytearray()

    @property
    def fifo_on(self) -> bool:
        return bool(self.regs[M.USER_CTRL] & M.USER_CTRL_FIFO_EN) and bool(self.regs[M.FIFO_EN])

    def on_write(self, reg: int, value: int) -> None:
        if reg == M.WHO_AM_I or M.ACCEL_XOUT_H <= reg < M.GYRO_XOUT_H + 6:
            return  # read-only
        if reg == M.PWR_MGMT_1 and value & M.PWR_RESET:
            self.power_on_reset()
            return
        if reg == M.USER_CTRL and value & M.USER_CTRL_FIFO_RESET:
            self.fifo = bytearray()
            value &= ~M.USER_CTRL_FIFO_RESET & 0xFF  # self-clearing bit
        if reg == M.INT_STATUS or reg in (M.FIFO_COUNT_H, M.FIFO_COUNT_H + 1):
            return  # read-only
        if reg == M.FIFO_R_W:
            return  # writing the FIFO: not modelled
        self.regs[reg] = value
        if reg in (M.SMPLRT_DIV, M.CONFIG):
            self._sample_index = None

    # -- sensor model ------------------------------------------------------------------------
    @property
    def sample_rate(self) -> float:
        return M.sample_rate_hz(self.regs[M.CONFIG] & 7, self.regs[M.SMPLRT_DIV])

    MAX_CATCH_UP = 100  # samples produced at most per read (FIFO holds 73)

    def before_read(self, reg: int, n: int) -> None:
        fifo_regs = reg in (M.INT_STATUS, M.FIFO_COUNT_H, M.FIFO_R_W)
        if not fifo_regs and (reg + n <= M.ACCEL_XOUT_H or reg > M.GYRO_XOUT_H + 5):
            return
        if self.regs[M.PWR_MGMT_1] & M.PWR_SLEEP:
            return  # asleep: data registers frozen
        t = self.now()
        rate = self.sample_rate
        k = int(math.floor(t * rate))
        if k != self._sample_index:
            if self.fifo_on and self._sample_index is not None:
                first = max(self._sample_index + 1, k - self.MAX_CATCH_UP + 1)
                if first > self._sample_index + 1:
                    self.regs[M.INT_STATUS] |= M.INT_FIFO_OFLOW
                for j in range(first, k + 1):  # every sample into the FIFO
                    self._produce(j / rate)
                    self._push_fifo()
            else:
                self._produce(k / rate)  # only the newest sample matters
                if self.fifo_on:
                    self._push_fifo()
            self._sample_index = k

    def _push_fifo(self) -> None:
        self.fifo += self.regs[M.ACCEL_XOUT_H : M.ACCEL_XOUT_H + 14]
        if len(self.fifo) > M.FIFO_SIZE:  # the oldest bytes are lost
            del self.fifo[: len(self.fifo) - M.FIFO_SIZE]
            self.regs[M.INT_STATUS] |= M.INT_FIFO_OFLOW

    def read(self, reg: int, n: int) -> bytes:
        self.fault.check()
        if reg != M.FIFO_R_W and reg + n > len(self.regs):
            raise OSError(errno.EIO, "read past the register file")
        self.before_read(reg, n)
        if reg == M.FIFO_R_W:  # the FIFO port: consecutive FIFO bytes
            data = bytes(self.fifo[:n]).ljust(n, b"\x00")
            del self.fifo[:n]
            return data
        if reg == M.FIFO_COUNT_H:
            c = len(self.fifo)
            self.regs[M.FIFO_COUNT_H], self.regs[M.FIFO_COUNT_H + 1] = c >> 8, c & 0xFF
        data = bytes(self.regs[reg : reg + n])
        if reg <= M.INT_STATUS < reg + n:
            self.regs[M.INT_STATUS] = 0  # cleared on read
        return data

    def _produce(self, t: float) -> None:
        dlpf = self.regs[M.CONFIG] & 7
        bw = M.DLPF_GYRO_BANDWIDTH.get(dlpf, 256)
        # bias random walk since the last sample
        if self._bias_t is not None and self.noise:
            dt = max(0.0, t - self._bias_t)
            s = math.radians(self.GYRO_BIAS_WALK_DPS_RTS) * math.sqrt(dt)
            self.gyro_bias = [b + self.rng.gauss(0.0, s) for b in self.gyro_bias]
        self._bias_t = t
        truth = self.motion.state(t)
        self.last_truth = truth
        self.last_sample_t = t
        fs_g = 2 << ((self.regs[M.ACCEL_CONFIG] >> 3) & 3)
        fs_d = 250 << ((self.regs[M.GYRO_CONFIG] >> 3) & 3)
        lsb_g = M.ACCEL_LSB_PER_G[fs_g]
        lsb_d = M.GYRO_LSB_PER_DPS[fs_d]
        sa = self.ACCEL_NOISE_G_RTHZ * math.sqrt(bw) * GRAVITY
        sg = math.radians(self.GYRO_NOISE_DPS_RTHZ * math.sqrt(bw))
        acc = [truth.accel[i] + self.accel_bias[i] + self._gauss(sa) for i in range(3)]
        gyr = [truth.gyro[i] + self.gyro_bias[i] + self._gauss(sg) for i in range(3)]
        raw_a = [_clip16(a / GRAVITY * lsb_g) for a in acc]
        raw_g = [_clip16(math.degrees(g) * lsb_d) for g in gyr]
        if self.fault.spike_due():  # corrupted register values
            raw_a[0] = -32768 if raw_a[0] >= 0 else 32767
            raw_g[2] = -32768 if raw_g[2] >= 0 else 32767
        raw_t = _clip16((self.temperature + self._gauss(0.05) - 36.53) * 340.0)
        values = raw_a + [raw_t] + raw_g
        self.regs[M.ACCEL_XOUT_H : M.ACCEL_XOUT_H + 14] = struct.pack(">7h", *values)
        self.samples += 1


class Bno055Model(RegisterModel):
    CHIP = "bno055"
    GYRO_NOISE_DPS_RTHZ = 0.014
    ACCEL_NOISE_G_RTHZ = 150e-6
    BANDWIDTH_HZ = 32.0
    GYRO_BIAS_DPS = 1.0
    ACCEL_BIAS_MS2 = 0.5
    QUAT_NOISE_DEG = 0.05
    SELF_CAL_S = 2.0  # at rest this long in a fusion mode -> calibrated (status 3)
    MAG_WORLD_UT = (0.0, 20.0, -40.0)

    def __init__(
        self, address=B.DEFAULT_ADDRESS, motion=None, clock=time.monotonic, seed=0, noise=True
    ):
        super().__init__(address, motion, clock, seed, noise)
        r = self.rng
        if noise:
            self.gyro_bias = [
                math.radians(r.uniform(-self.GYRO_BIAS_DPS, self.GYRO_BIAS_DPS)) for _ in range(3)
            ]
            self.accel_bias = [
                r.uniform(-self.ACCEL_BIAS_MS2, self.ACCEL_BIAS_MS2) for _ in range(3)
            ]
        else:
            self.gyro_bias = [0.0, 0.0, 0.0]
            self.accel_bias = [0.0, 0.0, 0.0]
        self._sample_index = None
        self._still_since = None
        self.calibrated = False
        self.power_on_reset()

    def power_on_reset(self) -> None:
        self.regs[:] = bytes(128)
        self.regs[B.CHIP_ID] = B.CHIP_ID_VALUE
        self.regs[0x01], self.regs[0x02], self.regs[0x03] = 0xFB, 0x32, 0x0F
        self.regs[B.UNIT_SEL] = 0x80
        self.regs[B.TEMP] = 25
        self.regs[B.OPR_MODE] = B.MODES["config"]
        self.regs[B.OFFSETS + 18 : B.OFFSETS + 20] = struct.pack("<h", 1000)  # acc radius
        self.regs[B.OFFSETS + 20 : B.OFFSETS + 22] = struct.pack("<h", 480)  # mag radius
        self._still_since = None
        self.calibrated = False

    # offsets in SI as the chip uses them (accel 1 m/s² = 100 LSB, gyro 1 °/s = 16 LSB)
    def _offsets(self):
        v = struct.unpack("<11h", bytes(self.regs[B.OFFSETS : B.OFFSETS + 22]))
        acc = [x / 100.0 for x in v[0:3]]
        gyr = [math.radians(x / 16.0) for x in v[6:9]]
        return acc, gyr

    def _learn(self) -> None:
        """The chip's own calibration converged: its offsets now hold the biases."""
        acc = [_clip16(b * 100.0) for b in self.accel_bias]
        gyr = [_clip16(math.degrees(b) * 16.0) for b in self.gyro_bias]
        self.regs[B.OFFSETS : B.OFFSETS + 6] = struct.pack("<3h", *acc)
        self.regs[B.OFFSETS + 12 : B.OFFSETS + 18] = struct.pack("<3h", *gyr)
        self.calibrated = True

    def on_write(self, reg: int, value: int) -> None:
        mode = self.regs[B.OPR_MODE]
        if reg == B.SYS_TRIGGER and value & 0x20:
            self.power_on_reset()
            return
        if reg in (B.CHIP_ID, 0x01, 0x02, 0x03, B.CALIB_STAT, B.SYS_STATUS, B.SYS_ERR):
            return
        if B.ACC_DATA <= reg <= B.TEMP:
            return  # data registers are read-only
        if mode != B.MODES["config"] and reg not in (
            B.OPR_MODE,
            B.PWR_MODE,
            B.SYS_TRIGGER,
            B.PAGE_ID,
        ):
            return  # the chip ignores these outside CONFIG
        self.regs[reg] = value
        if reg == B.OPR_MODE:
            self._sample_index = None
            self._still_since = None
        if B.OFFSETS <= reg < B.OFFSETS + 22:
            self.calibrated = True  # offsets restored from a saved profile

    def before_read(self, reg: int, n: int) -> None:
        mode = self.regs[B.OPR_MODE]
        self.regs[B.SYS_STATUS] = 5 if mode in (0x08, 0x0B, 0x0C) else (0 if mode == 0 else 6)
        cal = 3 if self.calibrated else 0
        self.regs[B.CALIB_STAT] = (cal << 6) | (cal << 4) | (cal << 2) | cal
        if mode == B.MODES["config"] or reg > B.TEMP or reg + n <= B.ACC_DATA:
            return
        t = self.now()
        k = int(math.floor(t * B.MAX_RATE_HZ))
        if k == self._sample_index:
            return
        self._sample_index = k
        self._produce(k / B.MAX_RATE_HZ)

    def _produce(self, t: float) -> None:
        truth = self.motion.state(t)
        self.last_truth = truth
        self.last_sample_t = t
        moving = math.sqrt(sum(g * g for g in truth.gyro)) > 0.01
        if moving:
            self._still_since = None
        elif self._still_since is None:
            self._still_since = t
        elif not self.calibrated and t - self._still_since >= self.SELF_CAL_S:
            self._learn()
        off_a, off_g = self._offsets()
        sa = self.ACCEL_NOISE_G_RTHZ * math.sqrt(self.BANDWIDTH_HZ) * GRAVITY
        sg = math.radians(self.GYRO_NOISE_DPS_RTHZ * math.sqrt(self.BANDWIDTH_HZ))
        acc = [truth.accel[i] + self.accel_bias[i] - off_a[i] + self._gauss(sa) for i in range(3)]
        gyr = [truth.gyro[i] + self.gyro_bias[i] - off_g[i] + self._gauss(sg) for i in range(3)]
        mag = Q.rotate_inv(truth.orientation, self.MAG_WORLD_UT)
        qn = math.radians(self.QUAT_NOISE_DEG)
        q = Q.normalize(
            Q.mul(
                truth.orientation, Q.from_rotvec(self._gauss(qn), self._gauss(qn), self._gauss(qn))
            )
        )
        if q[0] < 0:
            q = tuple(-v for v in q)
        roll, pitch, yaw = Q.to_euler(q)
        raw_a = [_clip16(a * B.ACC_LSB) for a in acc]
        raw_g = [_clip16(g * B.GYR_LSB_RAD) for g in gyr]
        raw_q = [_clip16(v * B.QUA_LSB) for v in q]
        if self.fault.spike_due():
            raw_a[0] = -32768 if raw_a[0] >= 0 else 32767
            raw_g[2] = -32768 if raw_g[2] >= 0 else 32767
            raw_q[1] = 32767
        raw_m = [_clip16(m * B.MAG_LSB) for m in mag]
        heading = (-yaw) % (2 * math.pi)
        raw_e = [
            _clip16(heading * B.EUL_LSB_RAD),
            _clip16(roll * B.EUL_LSB_RAD),
            _clip16(pitch * B.EUL_LSB_RAD),
        ]
        grav = Q.rotate_inv(truth.orientation, (0.0, 0.0, GRAVITY))
        lia = [acc[i] - grav[i] for i in range(3)]
        self.regs[B.ACC_DATA : B.TEMP] = struct.pack(
            "<22h",
            *raw_a,
            *raw_m,
            *raw_g,
            *raw_e,
            *raw_q,
            *[_clip16(v * B.ACC_LSB) for v in lia],
            *[_clip16(v * B.ACC_LSB) for v in grav],
        )
        self.regs[B.TEMP] = 25
        self.samples += 1


def make_model(
    chip: str,
    address: int | None = None,
    motion=None,
    clock=time.monotonic,
    seed: int = 0,
    noise: bool = True,
) -> RegisterModel:
    if chip not in CHIPS:
        raise ValueError(f"unknown chip {chip!r}; known: {sorted(CHIPS)}")
    address = CHIPS[chip] if address is None else address
    motion = motion if motion is not None else PushedMotion()
    cls = Mpu6050Model if chip == "mpu6050" else Bno055Model
    return cls(address=address, motion=motion, clock=clock, seed=seed, noise=noise)


class LocalBus:
    """smbus2-shaped bus straight to in-process models (address -> model); no socket.
    For driver tests and faster-than-real-time runs with a simulated clock."""

    def __init__(self, *models: RegisterModel):
        self.models = {m.address: m for m in models}

    def _model(self, addr: int) -> RegisterModel:
        m = self.models.get(addr)
        if m is None:
            raise OSError(errno.EREMOTEIO, f"NACK from address 0x{addr:02x}")
        return m

    def read_i2c_block_data(self, addr, reg, n, force=None):
        m = self._model(addr)
        with m.lock:
            return list(m.read(reg, n))

    def read_byte_data(self, addr, reg, force=None):
        m = self._model(addr)
        with m.lock:
            return m.read(reg, 1)[0]

    def write_byte_data(self, addr, reg, value, force=None):
        m = self._model(addr)
        with m.lock:
            m.write(reg, bytes([value & 0xFF]))

    def write_i2c_block_data(self, addr, reg, data, force=None):
        m = self._model(addr)
        with m.lock:
            m.write(reg, bytes(data))

    def close(self):
        pass


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server.owner
        sock = self.request
        srv._register(sock)
        buf = b""
        try:
            while True:
                while len(buf) < 4:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                op, addr, reg, n = struct.unpack("!BBBB", buf[:4])
                need = 4 + (n if op == OP_WRITE_BLOCK else 0)
                while len(buf) < need:
                    chunk = sock.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                payload, buf = buf[4:need], buf[need:]
                sock.sendall(srv.transact(op, addr, reg, n, payload))
        except OSError:
            return
        finally:
            srv._unregister(sock)


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class VirtualImuServer:
    """A virtual IMU chip behind a TCP socket; ``start()`` returns the node's ``bus`` spec."""

    def __init__(
        self,
        chip: str = "mpu6050",
        address: int | None = None,
        seed: int = 0,
        noise: bool = True,
        motion=None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.pushed = PushedMotion()
        self.model = make_model(
            chip, address, motion if motion is not None else self.pushed, clock, seed, noise
        )
        self.chip = chip
        self.address = self.model.address
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns = set()
        self._conns_lock = threading.Lock()
        self.transactions = 0
        self.bus_spec = ""

    # -- API ------------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._server = _Server((host, port), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"virtual-{self.chip}",
        )
        self._thread.start()
        h, p = self._server.server_address[:2]
        self.bus_spec = f"tcp://{h}:{p}"
        return self.bus_spec

    def set_motion(self, accel, gyro, orientation=None) -> None:
        """Specific force (m/s², +9.81 z at rest and level) and rate (rad/s) in the IMU frame;
        orientation (w, x, y, z) feeds the BNO055's fused output."""
        self.pushed.set(accel, gyro, orientation)
        if self.model.motion is not self.pushed:
            self.model.motion = self.pushed

    def inject_errors(self, n: int) -> None:
        """The next ``n`` bus transactions fail with EIO."""
        with self.model.lock:
            self.model.fault.fail_next += int(n)

    def inject_spikes(self, n: int) -> None:
        """``n`` isolated samples (every other one) carry corrupted values (accel x, gyro z
        at full scale)."""
        with self.model.lock:
            self.model.fault.spikes += int(n)

    def set_present(self, present: bool) -> None:
        """False: the device stops answering (NACK, EREMOTEIO) as if unplugged."""
        with self.model.lock:
            self.model.fault.present = bool(present)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            with self._conns_lock:
                for s in list(self._conns):
                    try:
                        s.close()
                    except OSError:
                        pass
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- internals ----------------------------------------------------------------------------
    def _register(self, sock):
        with self._conns_lock:
            self._conns.add(sock)

    def _unregister(self, sock):
        with self._conns_lock:
            self._conns.discard(sock)

    def transact(self, op: int, addr: int, reg: int, n: int, payload: bytes) -> bytes:
        self.transactions += 1
        m = self.model
        try:
            if addr != m.address:
                raise OSError(errno.EREMOTEIO, "NACK")
            with m.lock:
                if op == OP_READ_BLOCK:
                    data = m.read(reg, n)
                elif op == OP_READ_BYTE:
                    data = m.read(reg, 1)
                elif op == OP_WRITE_BYTE:
                    m.write(reg, bytes([n]))
                    data = b""
                elif op == OP_WRITE_BLOCK:
                    m.write(reg, payload)
                    data = b""
                else:
                    raise OSError(errno.EINVAL, "bad op")
        except OSError as e:
            return struct.pack("!BB", (e.errno or errno.EIO) & 0xFF, 0)
        return struct.pack("!BB", 0, len(data)) + data


def main(argv=None) -> int:
    """``edgebot virtual-imu``: serve a virtual chip moving along a scripted trajectory."""
    from .motion import TRAJECTORIES

    ap = argparse.ArgumentParser(prog="edgebot virtual-imu", description=__doc__.split("\n")[0])
    ap.add_argument("--chip", choices=sorted(CHIPS), default="mpu6050")
    ap.add_argument(
        "--address",
        type=lambda s: int(s, 0),
        default=None,
        help="I2C address (default 0x68 / 0x28)",
    )
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="TCP port (0: any free one)")
    ap.add_argument("--trajectory", choices=sorted(TRAJECTORIES), default="static")
    ap.add_argument("--roll", type=float, default=0.0, help="static: roll, degrees")
    ap.add_argument("--pitch", type=float, default=0.0, help="static: pitch, degrees")
    ap.add_argument("--yaw", type=float, default=0.0, help="static: yaw, degrees")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-noise", action="store_true", help="ideal sensor: no noise, no bias")
    ap.add_argument("--duration", type=float, default=0.0, help="seconds (0: until Ctrl-C)")
    args = ap.parse_args(argv)
    traj = make_trajectory(
        args.trajectory, roll_deg=args.roll, pitch_deg=args.pitch, yaw_deg=args.yaw
    )
    srv = VirtualImuServer(
        chip=args.chip, address=args.address, seed=args.seed, noise=not args.no_noise, motion=traj
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        spec = srv.start(args.host, args.port)
    except OSError as e:
        print(
            f"edgebot virtual-imu: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr
        )
        return 2
    print(
        f"virtual {args.chip} at address 0x{srv.address:02x}, trajectory {args.trajectory}; "
        f"bus: {spec}",
        flush=True,
    )
    deadline = time.monotonic() + args.duration if args.duration > 0 else None
    while not stop.wait(0.2):
        if deadline is not None and time.monotonic() >= deadline:
            break
    srv.stop()
    return 0


def console_main():
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    console_main()
