"""Pure-Python reference of the PID and the Madgwick step of edgebot_rt (the C++ core).

Used only to cross-check the C++ results in tests and to give the benchmark its baseline: the
arithmetic follows the C++ code line by line, so both agree to rounding. ROS-free, no numpy.
"""

import math

__all__ = ["Pid", "Madgwick"]


def _finite(*values):
    return all(math.isfinite(v) for v in values)


class Pid:
    """PID with output limits, conditional-integration anti-windup and a first-order
    low-pass filtered derivative on the measurement (mirrors edgebot_rt.Pid)."""

    def __init__(self, kp, ki, kd, out_min, out_max, d_filter_tau=0.0):
        if not _finite(kp, ki, kd):
            raise ValueError("Pid: gains must be finite")
        if math.isnan(out_min) or math.isnan(out_max) or out_min > out_max:
            raise ValueError("Pid: need out_min <= out_max")
        if not math.isfinite(d_filter_tau) or d_filter_tau < 0.0:
            raise ValueError("Pid: d_filter_tau must be finite and >= 0")
        self.kp, self.ki, self.kd = kp, ki, kd
        self.out_min, self.out_max, self.tau = out_min, out_max, d_filter_tau
        self.reset()

    def reset(self):
        self.integral = 0.0
        self._d_filtered = 0.0
        self._prev_measurement = 0.0
        self._has_prev = False
        self.output = 0.0

    def update(self, setpoint, measurement, dt):
        if not _finite(setpoint, measurement, dt) or dt <= 0.0:
            return self.output
        error = setpoint - measurement
        p = self.kp * error
        d_raw = -(measurement - self._prev_measurement) / dt if self._has_prev else 0.0
        d_filtered = d_raw
        if self.tau > 0.0 and self._has_prev:
            alpha = dt / (self.tau + dt)
            d_filtered = self._d_filtered + alpha * (d_raw - self._d_filtered)
        d = self.kd * d_filtered
        integral = self.integral + self.ki * error * dt
        integral = min(max(integral, self.out_min), self.out_max)
        unsat = p + integral + d
        if (unsat > self.out_max and error > 0.0) or (unsat < self.out_min and error < 0.0):
            integral = self.integral
        out = min(max(p + integral + d, self.out_min), self.out_max)
        if not math.isfinite(out):
            return self.output
        self.integral = integral
        self._d_filtered = d_filtered
        self._prev_measurement = measurement
        self._has_prev = True
        self.output = out
        return out


class Madgwick:
    """Madgwick gradient-descent orientation filter with gyro-bias estimation (mirrors
    edgebot_rt.Madgwick). Quaternion (w, x, y, z): sensor frame into earth frame, z up."""

    def __init__(self, beta=0.1, zeta=0.0):
        self.beta = beta
        self.zeta = zeta
        self.nan_resets = 0
        self.reset()

    def reset(self):
        self.q = (1.0, 0.0, 0.0, 0.0)
        self.bias = (0.0, 0.0, 0.0)

    @property
    def quaternion(self):
        return self.q

    @property
    def gyro_bias(self):
        return self.bias

    def set_quaternion(self, w, x, y, z):
        n = math.sqrt(w * w + x * x + y * y + z * z)
        if not math.isfinite(n) or n <= 0.0:
            return False
        self.q = (w / n, x / n, y / n, z / n)
        return True

    def init_from_accel(self, ax, ay, az):
        if not _finite(ax, ay, az) or (ax == 0.0 and ay == 0.0 and az == 0.0):
            return False
        roll = math.atan2(ay, az)
        pitch = math.atan2(-ax, math.sqrt(ay * ay + az * az))
        cr, sr = math.cos(0.5 * roll), math.sin(0.5 * roll)
        cp, sp = math.cos(0.5 * pitch), math.sin(0.5 * pitch)
        self.q = (cr * cp, sr * cp, cr * sp, -sr * sp)
        return True

    def _step(self, g, s, corr, dt):
        q0, q1, q2, q3 = self.q
        s0, s1, s2, s3 = s
        bx, by, bz = self.bias
        if corr and self.zeta != 0.0:
            ex = 2.0 * (q0 * s1 - q1 * s0 - q2 * s3 + q3 * s2)
            ey = 2.0 * (q0 * s2 + q1 * s3 - q2 * s0 - q3 * s1)
            ez = 2.0 * (q0 * s3 - q1 * s2 + q2 * s1 - q3 * s0)
            bx += self.zeta * ex * dt
            by += self.zeta * ey * dt
            bz += self.zeta * ez * dt
        gx, gy, gz = g[0] - bx, g[1] - by, g[2] - bz
        qd0 = 0.5 * (-q1 * gx - q2 * gy - q3 * gz)
        qd1 = 0.5 * (q0 * gx + q2 * gz - q3 * gy)
        qd2 = 0.5 * (q0 * gy - q1 * gz + q3 * gx)
        qd3 = 0.5 * (q0 * gz + q1 * gy - q2 * gx)
        if corr:
            qd0 -= self.beta * s0
            qd1 -= self.beta * s1
            qd2 -= self.beta * s2
            qd3 -= self.beta * s3
        n0, n1, n2, n3 = q0 + qd0 * dt, q1 + qd1 * dt, q2 + qd2 * dt, q3 + qd3 * dt
        norm = math.sqrt(n0 * n0 + n1 * n1 + n2 * n2 + n3 * n3)
        try:
            q = (n0 / norm, n1 / norm, n2 / norm, n3 / norm)
        except ZeroDivisionError:
            q = (math.nan,) * 4
        if not _finite(*q, bx, by, bz):
            self.reset()
            self.nan_resets += 1
            return False
        self.q = q
        self.bias = (bx, by, bz)
        return True

    @staticmethod
    def _normalised_step(s0, s1, s2, s3):
        sn = math.sqrt(s0 * s0 + s1 * s1 + s2 * s2 + s3 * s3)
        if sn > 0.0 and math.isfinite(sn):
            return (s0 / sn, s1 / sn, s2 / sn, s3 / sn), True
        return (0.0, 0.0, 0.0, 0.0), False

    def update_imu(self, gx, gy, gz, ax, ay, az, dt):
        if not _finite(gx, gy, gz, ax, ay, az, dt) or dt <= 0.0:
            return False
        q0, q1, q2, q3 = self.q
        s, corr = (0.0, 0.0, 0.0, 0.0), False
        an = math.sqrt(ax * ax + ay * ay + az * az)
        if an > 0.0 and math.isfinite(an):
            ax, ay, az = ax / an, ay / an, az / an
            f1 = 2.0 * (q1 * q3 - q0 * q2) - ax
            f2 = 2.0 * (q0 * q1 + q2 * q3) - ay
            f3 = 2.0 * (0.5 - q1 * q1 - q2 * q2) - az
            s0 = -2.0 * q2 * f1 + 2.0 * q1 * f2
            s1 = 2.0 * q3 * f1 + 2.0 * q0 * f2 - 4.0 * q1 * f3
            s2 = -2.0 * q0 * f1 + 2.0 * q3 * f2 - 4.0 * q2 * f3
            s3 = 2.0 * q1 * f1 + 2.0 * q2 * f2
            sn = math.sqrt(s0 * s0 + s1 * s1 + s2 * s2 + s3 * s3)
            if sn > 0.0:
                s, corr = (s0 / sn, s1 / sn, s2 / sn, s3 / sn), True
        return self._step((gx, gy, gz), s, corr, dt)

    def update_marg(self, gx, gy, gz, ax, ay, az, mx, my, mz, dt):
        if not _finite(mx, my, mz):
            return False
        mn = math.sqrt(mx * mx + my * my + mz * mz)
        if not (mn > 0.0) or not math.isfinite(mn):
            return self.update_imu(gx, gy, gz, ax, ay, az, dt)
        if not _finite(gx, gy, gz, ax, ay, az, dt) or dt <= 0.0:
            return False
        an = math.sqrt(ax * ax + ay * ay + az * az)
        if not (an > 0.0) or not math.isfinite(an):
            return self.update_imu(gx, gy, gz, 0.0, 0.0, 0.0, dt)
        ax, ay, az = ax / an, ay / an, az / an
        mx, my, mz = mx / mn, my / mn, mz / mn
        q0, q1, q2, q3 = self.q
        hx = (
            (1.0 - 2.0 * (q2 * q2 + q3 * q3)) * mx
            + 2.0 * (q1 * q2 - q0 * q3) * my
            + 2.0 * (q1 * q3 + q0 * q2) * mz
        )
        hy = (
            2.0 * (q1 * q2 + q0 * q3) * mx
            + (1.0 - 2.0 * (q1 * q1 + q3 * q3)) * my
            + 2.0 * (q2 * q3 - q0 * q1) * mz
        )
        hz = (
            2.0 * (q1 * q3 - q0 * q2) * mx
            + 2.0 * (q2 * q3 + q0 * q1) * my
            + (1.0 - 2.0 * (q1 * q1 + q2 * q2)) * mz
        )
        bx = math.sqrt(hx * hx + hy * hy)
        bz = hz
        f1 = 2.0 * (q1 * q3 - q0 * q2) - ax
        f2 = 2.0 * (q0 * q1 + q2 * q3) - ay
        f3 = 2.0 * (0.5 - q1 * q1 - q2 * q2) - az
        f4 = 2.0 * bx * (0.5 - q2 * q2 - q3 * q3) + 2.0 * bz * (q1 * q3 - q0 * q2) - mx
        f5 = 2.0 * bx * (q1 * q2 - q0 * q3) + 2.0 * bz * (q0 * q1 + q2 * q3) - my
        f6 = 2.0 * bx * (q0 * q2 + q1 * q3) + 2.0 * bz * (0.5 - q1 * q1 - q2 * q2) - mz
        s0 = (
            -2.0 * q2 * f1
            + 2.0 * q1 * f2
            - 2.0 * bz * q2 * f4
            + (-2.0 * bx * q3 + 2.0 * bz * q1) * f5
            + 2.0 * bx * q2 * f6
        )
        s1 = (
            2.0 * q3 * f1
            + 2.0 * q0 * f2
            - 4.0 * q1 * f3
            + 2.0 * bz * q3 * f4
            + (2.0 * bx * q2 + 2.0 * bz * q0) * f5
            + (2.0 * bx * q3 - 4.0 * bz * q1) * f6
        )
        s2 = (
            -2.0 * q0 * f1
            + 2.0 * q3 * f2
            - 4.0 * q2 * f3
            + (-4.0 * bx * q2 - 2.0 * bz * q0) * f4
            + (2.0 * bx * q1 + 2.0 * bz * q3) * f5
            + (2.0 * bx * q0 - 4.0 * bz * q2) * f6
        )
        s3 = (
            2.0 * q1 * f1
            + 2.0 * q2 * f2
            + (-4.0 * bx * q3 + 2.0 * bz * q1) * f4
            + (-2.0 * bx * q0 + 2.0 * bz * q2) * f5
            + 2.0 * bx * q1 * f6
        )
        s, corr = self._normalised_step(s0, s1, s2, s3)
        return self._step((gx, gy, gz), s, corr, dt)
