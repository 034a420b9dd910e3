// The base controller's real-time loop: commands (v, w) in, wheel speed commands and odometry
// out, at a fixed rate on its own thread. Exchange with the ROS side is lock-free SPSC.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

#include "edgebot_rt/diff_drive.hpp"
#include "edgebot_rt/loop_runner.hpp"
#include "edgebot_rt/pid.hpp"
#include "edgebot_rt/rate_limiter.hpp"
#include "edgebot_rt/spsc.hpp"

namespace edgebot_rt
{

struct BaseControlConfig
{
  double rate_hz{200.0};
  double wheel_radius{0.033};
  double wheel_separation{0.16};
  double max_linear{0.5};
  double max_angular{2.5};
  double max_linear_accel{1.0};
  double max_angular_accel{5.0};
  double max_wheel_speed{20.0};
  double command_timeout{0.25};
  // Braking when the motion authority is lost (set_authority(false): the safety monitor has no
  // source / is stopped): the body speeds fall to zero at these rates instead of max_*_accel.
  // Infinity: zero at once. Must be >= max_*_accel. (No command for command_timeout: zero at
  // once.)
  double emergency_linear_decel{std::numeric_limits<double>::infinity()};
  double emergency_angular_decel{std::numeric_limits<double>::infinity()};
  // A wheel whose target is zero and whose measured speed is at most this is at rest: its
  // command is exactly zero and its PID is reset (no integrator residue keeps it creeping).
  double standstill_speed{0.3};  // rad/s
  bool use_feedback{false};
  double kp{0.5}, ki{2.0}, kd{0.0};
  double feedback_timeout{0.2};
  double imu_yaw_weight{0.0};
  // Odometry from wheel POSITION deltas (JointState.position, encoders) when the feedback
  // carries them, as ros2_controllers' diff_drive_controller position_feedback: independent of
  // any clock and of dropped or late messages. False, or feedback without positions: wheel
  // velocity x the feedback's own stamp difference (simulated time under use_sim_time). Never
  // the loop's wall-clock dt; that only integrates the commands while no feedback ever came.
  bool position_feedback{true};
  int realtime_priority{0};
  size_t ring_capacity{4096};
};

// One cycle's output, as handed to the ROS side.
struct LoopSample
{
  double t;  // CLOCK_MONOTONIC seconds
  double wl_cmd, wr_cmd;  // rad/s
  double x, y, theta;     // odometry pose
  double v, w;            // odometry twist
  uint64_t timed_out;     // 1 when no fresh command (wheels commanded to zero)
  uint64_t braking;       // 1 while braking at the emergency deceleration (authority lost)
};

class BaseControlLoop
{
public:
  explicit BaseControlLoop(const BaseControlConfig & config);  // throws std::invalid_argument
  ~BaseControlLoop();

  bool start();
  void stop();
  bool running() const {return loop_.running();}

  // Producer side (one thread at a time, e.g. under the GIL). False when rejected (non-finite).
  bool set_command(double v, double w);
  // Wheel speeds (rad/s) for the PID and odometry. stamp_s: the feedback's own time (its
  // header.stamp, simulated under use_sim_time); NaN: the monotonic clock now.
  bool set_wheel_feedback(double wl, double wr, double stamp_s = std::numeric_limits<double>::quiet_NaN());
  // One wheel-state message: velocities (PID, and odometry as velocity x stamp difference when
  // no positions are used) and/or absolute positions (rad; odometry from their deltas).
  bool set_wheel_state(
    double stamp_s, bool has_velocity, double wl, double wr, bool has_position, double left_rad,
    double right_rad);
  // IMU yaw rate (rad/s) at stamp_s (NaN: now); the loop fuses the heading CHANGE it gives
  // (rate x the IMU messages' stamp differences) with the wheels' heading change.
  bool set_imu_yaw_rate(double wz, double stamp_s = std::numeric_limits<double>::quiet_NaN());
  // false while nothing may drive the robot (e-stop, no fresh source at the safety monitor):
  // brake at the emergency decelerations. A false older than command_timeout expires (its
  // publisher is gone; a command source of its own then drives), so it must be repeated.
  // Same producer thread as set_command.
  void set_authority(bool has_authority);
  bool authority() const {return last_authority_.load(std::memory_order_relaxed);}  // last given

  // Consumer side (one thread at a time).
  bool pop(LoopSample & out) {return ring_.pop(out);}
  bool latest(LoopSample & out) {return latest_.read(out);}

  uint64_t drops() const {return ring_.dropped();}
  uint64_t rejected() const {return rejected_.load(std::memory_order_relaxed);}
  LoopStats stats() const {return loop_.stats();}
  const BaseControlConfig & config() const {return cfg_;}

  // One cycle, normally called by the loop thread; public for deterministic tests.
  void cycle(int64_t now_ns, double dt);

private:
  struct Stamped
  {
    double a, b;
    int64_t stamp_ns;
  };
  // cumulative wheel travel (rad) built by the producer from position deltas or velocity x
  // stamp differences; the loop integrates the difference between two readings
  struct Travel
  {
    double left, right;
    int64_t stamp_ns;  // monotonic, when written
  };

  BaseControlConfig cfg_;
  DiffDriveKinematics kin_;
  Odometry odom_;
  RateLimiter lin_limiter_, ang_limiter_;
  Pid pid_left_, pid_right_;
  LatestBox<Stamped> command_, feedback_, imu_;  // imu_: (rate, cumulative yaw)
  LatestBox<Travel> travel_;
  // producer side (the thread calling set_wheel_state / set_imu_yaw_rate)
  double travel_left_{0.0}, travel_right_{0.0};
  bool pos_latched_{false};
  double last_pos_left_{0.0}, last_pos_right_{0.0};
  double last_wheel_stamp_{std::numeric_limits<double>::quiet_NaN()};
  double imu_yaw_{0.0};
  double last_imu_stamp_{std::numeric_limits<double>::quiet_NaN()};
  // loop side
  double used_left_{0.0}, used_right_{0.0};
  bool imu_latched_{false};
  double used_imu_yaw_{0.0};
  DropOldestRing<LoopSample> ring_;
  LatestBox<LoopSample> latest_;
  std::atomic<uint64_t> rejected_{0};
  LatestBox<Stamped> authority_;
  std::atomic<bool> last_authority_{true};
  bool pid_active_{false};

  double wheel_output(Pid & pid, double target, double measured, double dt);
  FixedRateLoop loop_;
};

}  // namespace edgebot_rt
