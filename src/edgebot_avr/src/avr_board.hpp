// edgebot_avr: one emulated AVR (simavr) with USART0 on a pseudo-terminal.
//
// Threading: one emulation thread owns the simavr core. Every call from other threads takes
// the same mutex the emulation thread holds while it runs a slice of cycles, so a caller sees
// the chip between two slices (250 us of emulated time), like a logic analyser sampling.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

struct avr_t;
struct avr_irq_t;
struct avr_adc_t;

namespace edgebot_avr {

struct PortState {
  uint8_t port = 0, ddr = 0, pin = 0;
};

// What the edge recorder knows about one pin (cycles of the emulated clock; 0 = never).
struct PinTiming {
  uint64_t last_rise = 0, last_fall = 0;
  uint64_t high_cycles = 0;    // width of the last complete high pulse
  uint64_t period_cycles = 0;  // rise to rise of the last complete period
};

struct Edge {
  int port_index;  // index into the board's port letters
  int bit;
  bool level;
  uint64_t cycle;
};

struct Stats {
  uint64_t bytes_to_host = 0, bytes_from_host = 0, bytes_lost_rx_disabled = 0;
  uint64_t garbled = 0, resets = 0, opens = 0, edges_dropped = 0;
  double host_baud = 0, firmware_baud = 0;
  bool connected = false, powered = true, held_in_reset = false;
  int cpu_state = 0;
  // what the firmware said on its UART since the last reset, whether or not a host listened:
  // bytes sent, and the Firmata protocol version it reported (REPORT_VERSION 0xF9 major minor;
  // -1 = none yet)
  uint64_t uart_tx_since_reset = 0;
  int firmata_major = -1, firmata_minor = -1;
};

class AvrBoard {
 public:
  AvrBoard(const std::string& mcu, uint32_t frequency, const std::vector<uint8_t>& flash,
           const std::string& port_letters, double boot_delay_s, bool baud_check);
  ~AvrBoard();
  AvrBoard(const AvrBoard&) = delete;
  AvrBoard& operator=(const AvrBoard&) = delete;

  // ---- lifecycle
  std::string open_pty();   // a new pty (closes an old one); returns the slave path
  void close_pty();         // the host side sees a hang-up (read/write errors)
  void start(double speed); // starts the emulation thread
  void stop();
  void set_speed(double speed);
  void set_power(bool on);  // off: the CPU does not run (held in reset); on: power-on reset
  void reset();             // reset button / DTR: reset, then the boot delay

  // ---- pins
  void set_digital(int port_index, int bit, bool level);
  void set_analog(int channel, double volts);
  PortState port_state(int port_index);
  PinTiming pin_timing(int port_index, int bit);
  std::vector<uint8_t> read_data(uint32_t addr, uint32_t n);  // data space (registers, SRAM)

  // ---- quadrature generators (edges produced in emulated time)
  int add_quadrature(int port_a, int bit_a, int port_b, int bit_b);
  void set_quadrature_rate(int id, double edges_per_s);
  int64_t quadrature_edges(int id);

  // ---- edge capture for pin listeners
  void set_edge_capture(bool on);
  std::vector<Edge> take_edges();

  // ---- time and counters
  uint64_t cycles();
  uint32_t frequency() const { return frequency_; }
  double realtime_factor() const { return rtf_.load(); }
  Stats stats();
  bool running() const { return running_.load(); }

  // simavr callbacks (public for the C trampolines)
  void on_uart_output(uint8_t byte);
  void on_xon(bool xon) { xon_ = xon; }
  void on_pin(int port_index, int bit, uint32_t value);
  void on_ddr(int port_index, uint8_t ddr);
  void on_adc_trigger(uint32_t value);
  uint64_t on_quadrature(int id, uint64_t when);
  int driven_level(int port_index, int bit);  // -1 = not driven from outside

  struct Quad {
    AvrBoard* board;
    int id;
    int port_a, bit_a, port_b, bit_b;
    double rate = 0;    // edges per emulated second (signed)
    int phase = 0;      // 0..3 Gray-code state
    int64_t edges = 0;
    double carry = 0;   // fractional cycles
    bool armed = false;
  };

 private:
  void loop();
  void service_pty();
  void host_opened_locked();
  void feed_uart();
  void do_reset_locked();
  void rearm_quadrature_locked();
  void arm_quad_locked(Quad& q);
  double firmware_baud_locked();
  uint8_t garble(uint8_t byte, double sender_baud, double receiver_baud);
  bool rx_enabled_locked();
  void raise_pin_locked(int port_index, int bit, bool level);
  void reapply_pin_locked(int port_index, int bit);
  uint64_t now_cycles_locked() const;

  class Lock;  // takes mu_ with priority over the emulation thread

  avr_t* avr_ = nullptr;
  uint32_t frequency_;
  std::string ports_;
  std::vector<avr_irq_t*> port_irqs_;  // per port: base of the pin IRQs
  avr_irq_t* uart_irq_ = nullptr;
  avr_irq_t* adc_irq_ = nullptr;
  avr_adc_t* adc_ = nullptr;
  uint64_t boot_delay_cycles_;
  bool baud_check_;

  std::mutex mu_;
  std::atomic<int> waiters_{0};
  std::thread thread_;
  std::atomic<bool> running_{false};
  std::atomic<double> speed_{1.0};
  std::atomic<double> rtf_{0.0};
  bool pace_rebase_ = true;

  // pty
  int master_ = -1;
  std::string slave_path_;
  int inotify_fd_ = -1, watch_ = -1, host_opens_ = 0;
  bool connected_ = false;
  std::deque<uint8_t> to_avr_;
  std::vector<uint8_t> to_host_;
  bool xon_ = true;
  double host_baud_ = 0;
  int host_baud_check_countdown_ = 0;

  // state
  bool powered_ = true;
  uint64_t hold_until_ = 0;  // CPU held (boot loader / reset) until this cycle
  std::vector<std::vector<PinTiming>> timing_;
  std::vector<std::vector<uint8_t>> driven_;  // externally driven input levels (2 = not driven)
  std::vector<std::vector<uint8_t>> last_level_;
  std::vector<int> analog_mv_;
  std::vector<uint8_t> last_ddr_;
  std::vector<void*> hooks_;
  uint64_t base_cycles_ = 0;
  std::vector<Quad*> quads_;
  bool capture_ = false;
  std::vector<Edge> edges_;
  Stats stats_;
  int version_state_ = 0;  // REPORT_VERSION parser: 0 idle, 1 after 0xF9, 2 after major
  uint32_t garble_seed_ = 0x1234567u;
};

}  // namespace edgebot_avr
