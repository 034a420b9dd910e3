"""imu_node's diagnostics, built from its parts (ROS-free): ``(level, message, values)`` with
level ``"ok"``, ``"warn"`` or ``"error"`` (the node maps them to diagnostic_msgs levels)."""

from __future__ import annotations

Status = tuple[str, str, dict[str, object]]


def connection_status(bus_spec: str, address: int, sup, reader) -> Status:
    values = {
        "bus": bus_spec,
        "address": f"0x{address:02x}",
        "reconnects": sup.reconnects,
        "chip_resets": sup.resets,
        "retried_ok": reader.retried_ok,
        "failed_reads": reader.failures,
        "last_error": sup.last_error,
    }
    values.update({f"bus_errors.{k}": v for k, v in sorted(reader.errors.items())})
    values["bus_errors"] = sum(reader.errors.values())
    if not sup.connected:
        return "error", f"device lost: {sup.last_error}", values
    if reader.errors:
        return "warn" if reader.failures else "ok", "connected (bus errors seen)", values
    return "ok", "connected", values


def data_status(
    measured_rate: float,
    target_rate: float,
    published: int,
    chain,
    calib,
    loop,
    use_fifo: bool,
    connected: bool,
) -> Status:
    proc, fusion = chain.proc, chain.fusion
    values = {
        "rate_hz": measured_rate,
        "target_rate_hz": target_rate,
        "published": published,
        "dropped": sum(proc.dropped.values()),
        "glitch_resyncs": chain.glitch.resyncs,
        "gyro_bias": [round(b, 6) for b in chain.bias.bias],
        "bias_updates": chain.bias.updates,
        "calibration": calib.source,
        "start_calibration": calib.start_calibration,
    }
    if use_fifo:
        values["fifo_overflows"] = loop.fifo_overflows
    values.update({f"dropped.{k}": v for k, v in sorted(proc.dropped.items())})
    if fusion is not None:
        values.update(
            {
                "filter": fusion.source,
                "filter_nan_resets": fusion.resets,
                "filter_rejected": fusion.rejected,
            }
        )
    if loop.calib_status is not None:
        values["bno055_calib_status"] = "sys {} gyr {} acc {} mag {}".format(*loop.calib_status)
    if loop.temperature is not None:
        values["temperature_c"] = round(loop.temperature, 2)
    if chain.fusion_error:
        return "warn", chain.fusion_error, values
    if connected and measured_rate < 0.5 * target_rate:
        return "warn", f"rate {measured_rate:.1f} Hz below target", values
    return "ok", "ok", values
