// edgebot_avr: one emulated AVR (simavr) with USART0 on a pseudo-terminal. See avr_board.hpp.
#include "avr_board.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>

extern "C" {
#include "avr_adc.h"
#include "avr_extint.h"
#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_cycle_timers.h"
#include "sim_io.h"
#include "sim_irq.h"
}

namespace edgebot_avr {
namespace {

// USART0 registers (data-space addresses), the same on the ATmega328P and the ATmega2560.
constexpr uint16_t kUcsr0a = 0xC0, kUcsr0b = 0xC1, kUbrr0l = 0xC4, kUbrr0h = 0xC5;
constexpr uint8_t kU2x0 = 1u << 1, kRxen0 = 1u << 4;
constexpr double kBaudTolerance = 0.04;  // beyond this a real UART frames garbage

void quiet_logger(avr_t*, const int level, const char* format, va_list ap) {
  if (level <= LOG_ERROR) {
    std::fputs("simavr: ", stderr);
    std::vfprintf(stderr, format, ap);
  }
}

void no_sleep(avr_t*, avr_cycle_count_t) {}  // pacing is done by the emulation loop

// simavr 1.6 polls a low INTn pin on every cycle while EICRA selects "low level" -- which is the
// reset value -- even with the interrupt disabled, and registers one more poll timer for each
// low notification: Firmata, which never enables INTn, then runs at a few % of real time as
// soon as D2/D3 go low. Level mode then acts like falling-edge mode (the datasheet's repeated
// interrupt while held low is not modelled). avr_reset turns the polling back on: call after it.
void no_level_polling(avr_t* avr) {
  for (uint8_t i = 0; i < EXTINT_COUNT; ++i)
    if (avr_extint_is_strict_lvl_trig(avr, i) > 0) avr_extint_set_strict_lvl_trig(avr, i, 0);
}

struct PinHook {
  AvrBoard* board;
  int port;
  int bit;
};

void pin_notify(avr_irq_t*, uint32_t value, void* param) {
  auto* h = static_cast<PinHook*>(param);
  h->board->on_pin(h->port, h->bit, value);
}
void ddr_notify(avr_irq_t*, uint32_t value, void* param) {
  auto* h = static_cast<PinHook*>(param);
  h->board->on_ddr(h->port, static_cast<uint8_t>(value));
}
void adc_trigger_notify(avr_irq_t*, uint32_t value, void* param) {
  static_cast<AvrBoard*>(param)->on_adc_trigger(value);
}
void uart_out_notify(avr_irq_t*, uint32_t value, void* param) {
  static_cast<AvrBoard*>(param)->on_uart_output(static_cast<uint8_t>(value));
}
void uart_xon_notify(avr_irq_t*, uint32_t, void* param) { static_cast<AvrBoard*>(param)->on_xon(true); }
void uart_xoff_notify(avr_irq_t*, uint32_t, void* param) { static_cast<AvrBoard*>(param)->on_xon(false); }

double speed_to_baud(speed_t s) {
  switch (s) {
    case B300: return 300; case B600: return 600; case B1200: return 1200;
    case B2400: return 2400; case B4800: return 4800; case B9600: return 9600;
    case B19200: return 19200; case B38400: return 38400; case B57600: return 57600;
    case B115200: return 115200; case B230400: return 230400; case B460800: return 460800;
    case B500000: return 500000; case B576000: return 576000; case B921600: return 921600;
    case B1000000: return 1000000; case B2000000: return 2000000;
    default: return 0;
  }
}

}  // namespace

// Callers from other threads take the lock with priority: the emulation thread yields while
// anyone waits.
class AvrBoard::Lock {
 public:
  explicit Lock(AvrBoard& b) : b_(b) {
    b_.waiters_.fetch_add(1);
    b_.mu_.lock();
    b_.waiters_.fetch_sub(1);
  }
  ~Lock() { b_.mu_.unlock(); }

 private:
  AvrBoard& b_;
};

static avr_cycle_count_t quad_trampoline(avr_t*, avr_cycle_count_t when, void* param);

AvrBoard::AvrBoard(const std::string& mcu, uint32_t frequency, const std::vector<uint8_t>& flash,
                   const std::string& port_letters, double boot_delay_s, bool baud_check)
    : frequency_(frequency), ports_(port_letters), baud_check_(baud_check) {
  avr_global_logger_set(quiet_logger);
  avr_ = avr_make_mcu_by_name(mcu.c_str());
  if (!avr_) throw std::invalid_argument("simavr does not know the MCU '" + mcu + "'");
  avr_init(avr_);
  avr_->frequency = frequency;
  avr_->vcc = avr_->avcc = avr_->aref = 5000;
  avr_->log = LOG_ERROR;
  avr_->sleep = no_sleep;
  no_level_polling(avr_);
  if (flash.size() > avr_->flashend + 1u)
    throw std::invalid_argument("image larger than the flash of " + mcu);
  avr_loadcode(avr_, const_cast<uint8_t*>(flash.data()), static_cast<uint32_t>(flash.size()), 0);
  avr_->codeend = static_cast<uint32_t>(flash.size());
  boot_delay_cycles_ = static_cast<uint64_t>(boot_delay_s * frequency);

  uint32_t flags = 0;
  avr_ioctl(avr_, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
  flags &= ~(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
  avr_ioctl(avr_, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
  uart_irq_ = avr_io_getirq(avr_, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
  avr_irq_register_notify(avr_io_getirq(avr_, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT),
                          uart_out_notify, this);
  avr_irq_register_notify(avr_io_getirq(avr_, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON),
                          uart_xon_notify, this);
  avr_irq_register_notify(avr_io_getirq(avr_, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF),
                          uart_xoff_notify, this);
  adc_irq_ = avr_io_getirq(avr_, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0);
  // simavr 1.6 keeps values for ADC0..7 only (adc_values[8]): the ATmega2560's ADC8..15 (MUX5)
  // would read past the array. Point those mux entries at the slot of ADCn-8, marking the real
  // channel in the (for single-ended inputs unused) gain field, and put the real channel's
  // value into that slot when a conversion starts (ADC_IRQ_OUT_TRIGGER).
  for (avr_io_t* io = avr_->io_port; io; io = io->next)
    if (io->kind && std::strcmp(io->kind, "adc") == 0) adc_ = reinterpret_cast<avr_adc_t*>(io);
  if (adc_) {
    for (auto& m : adc_->muxmode)
      if (m.kind == ADC_MUX_SINGLE && m.src >= 8 && m.src < 16) {
        m.gain = m.src + 1;
        m.src = m.src - 8;
      }
    avr_irq_register_notify(avr_io_getirq(avr_, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_OUT_TRIGGER),
                            adc_trigger_notify, this);
  }

  timing_.assign(ports_.size(), std::vector<PinTiming>(8));
  driven_.assign(ports_.size(), std::vector<uint8_t>(8, 2));
  last_level_.assign(ports_.size(), std::vector<uint8_t>(8, 0));
  last_ddr_.assign(ports_.size(), 0);
  for (size_t p = 0; p < ports_.size(); ++p) {
    avr_irq_t* base = avr_io_getirq(avr_, AVR_IOCTL_IOPORT_GETIRQ(ports_[p]), IOPORT_IRQ_PIN0);
    if (!base) throw std::invalid_argument(std::string("no port ") + ports_[p] + " on " + mcu);
    port_irqs_.push_back(base);
    auto* ddr_hook = new PinHook{this, static_cast<int>(p), -1};
    hooks_.push_back(ddr_hook);
    avr_irq_register_notify(
        avr_io_getirq(avr_, AVR_IOCTL_IOPORT_GETIRQ(ports_[p]), IOPORT_IRQ_DIRECTION_ALL),
        ddr_notify, ddr_hook);
    for (int bit = 0; bit < 8; ++bit) {
      avr_irq_t* irq = base + bit;
      auto* hook = new PinHook{this, static_cast<int>(p), bit};
      hooks_.push_back(hook);
      avr_irq_register_notify(irq, pin_notify, hook);
    }
  }
}

AvrBoard::~AvrBoard() {
  stop();
  close_pty();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  for (auto* q : quads_) delete q;
  // simavr keeps the hooks registered on its IRQs; the core is not freed by libsimavr either,
  // so the hooks stay valid for the core's lifetime: detach them first.
  for (auto* v : hooks_) {
    auto* h = static_cast<PinHook*>(v);
    if (h->bit < 0)
      avr_irq_unregister_notify(
          avr_io_getirq(avr_, AVR_IOCTL_IOPORT_GETIRQ(ports_[h->port]), IOPORT_IRQ_DIRECTION_ALL),
          ddr_notify, h);
    else
      avr_irq_unregister_notify(port_irqs_[h->port] + h->bit, pin_notify, h);
    delete h;
  }
  avr_terminate(avr_);
}

// ------------------------------------------------------------------------------ pty
std::string AvrBoard::open_pty() {
  Lock l(*this);
  if (master_ >= 0) {
    ::close(master_);
    master_ = -1;
  }
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
  if (m < 0) throw std::runtime_error(std::string("posix_openpt: ") + std::strerror(errno));
  if (grantpt(m) != 0 || unlockpt(m) != 0) {
    ::close(m);
    throw std::runtime_error(std::string("grantpt/unlockpt: ") + std::strerror(errno));
  }
  char name[128];
  if (ptsname_r(m, name, sizeof name) != 0) {
    ::close(m);
    throw std::runtime_error("ptsname_r failed");
  }
  // Open and close the slave once: raw mode, 9600 baud like a fresh USB serial port, and the
  // master then reports a hang-up until a client opens the port (that open resets the board).
  int s = ::open(name, O_RDWR | O_NOCTTY);
  if (s >= 0) {
    termios t{};
    if (tcgetattr(s, &t) == 0) {
      cfmakeraw(&t);
      cfsetispeed(&t, B9600);
      cfsetospeed(&t, B9600);
      tcsetattr(s, TCSANOW, &t);
    }
    ::close(s);
  }
  master_ = m;
  slave_path_ = name;
  connected_ = false;
  // Opens of the port are seen through inotify on the device node: a close and re-open in
  // quick succession (faster than the hang-up can be polled) still resets the board once.
  if (inotify_fd_ < 0) inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ >= 0) {
    if (watch_ >= 0) inotify_rm_watch(inotify_fd_, watch_);
    watch_ = inotify_add_watch(inotify_fd_, name, IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE);
  }
  host_opens_ = 0;
  to_avr_.clear();
  to_host_.clear();
  return slave_path_;
}

void AvrBoard::close_pty() {
  Lock l(*this);
  if (inotify_fd_ >= 0 && watch_ >= 0) inotify_rm_watch(inotify_fd_, watch_);
  watch_ = -1;
  if (master_ >= 0) ::close(master_);
  master_ = -1;
  connected_ = false;
  to_avr_.clear();
  to_host_.clear();
}

void AvrBoard::host_opened_locked() {  // DTR asserted: a Uno's RESET is pulsed low
  connected_ = true;
  stats_.opens++;
  to_host_.clear();
  to_avr_.clear();
  host_baud_check_countdown_ = 0;
  if (powered_) do_reset_locked();
}

void AvrBoard::service_pty() {
  if (master_ < 0) return;
  bool reopened = false;
  if (watch_ >= 0) {
    alignas(inotify_event) char buf[4096];
    ssize_t n;
    while ((n = ::read(inotify_fd_, buf, sizeof buf)) > 0) {
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<inotify_event*>(p);
        if (ev->wd == watch_) {
          if (ev->mask & IN_OPEN) {
            if (host_opens_++ == 0) reopened = true;
          } else if (ev->mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)) {
            if (host_opens_ > 0) host_opens_--;
          }
        }
        p += sizeof(inotify_event) + ev->len;
      }
    }
  }
  pollfd pfd{master_, static_cast<short>(POLLIN | (to_host_.empty() ? 0 : POLLOUT)), 0};
  if (::poll(&pfd, 1, 0) < 0) return;
  if (pfd.revents & POLLHUP) {
    if (connected_) {
      connected_ = false;
      to_avr_.clear();
      to_host_.clear();
    }
    return;
  }
  if (reopened || (!connected_ && watch_ < 0)) host_opened_locked();
  if (!connected_) return;
  if (host_baud_check_countdown_-- <= 0) {
    termios t{};
    if (tcgetattr(master_, &t) == 0) host_baud_ = speed_to_baud(cfgetospeed(&t));
    host_baud_check_countdown_ = 16;
  }
  if ((pfd.revents & POLLIN) && to_avr_.size() < 1024) {
    uint8_t buf[1024];
    ssize_t n = ::read(master_, buf, sizeof buf - to_avr_.size());
    for (ssize_t i = 0; i < n; ++i) to_avr_.push_back(buf[i]);
  }
  if (!to_host_.empty()) {
    ssize_t n = ::write(master_, to_host_.data(), to_host_.size());
    if (n > 0) to_host_.erase(to_host_.begin(), to_host_.begin() + n);
  }
}

double AvrBoard::firmware_baud_locked() {
  const uint8_t* d = avr_->data;
  unsigned ubrr = (static_cast<unsigned>(d[kUbrr0h] & 0x0F) << 8) | d[kUbrr0l];
  unsigned div = (d[kUcsr0a] & kU2x0) ? 8 : 16;
  return static_cast<double>(frequency_) / (div * (ubrr + 1.0));
}

bool AvrBoard::rx_enabled_locked() { return (avr_->data[kUcsr0b] & kRxen0) != 0; }

// What a UART at receiver_baud decodes from one 8N1 frame sent at sender_baud: it starts on
// the falling edge of the start bit and samples the middle of each of its own bit times.
uint8_t AvrBoard::garble(uint8_t byte, double sender_baud, double receiver_baud) {
  uint8_t out = 0;
  for (int i = 0; i < 8; ++i) {
    double t = (1.5 + i) / receiver_baud;
    int k = static_cast<int>(std::floor(t * sender_baud));
    int level = (k == 0) ? 0 : (k <= 8 ? (byte >> (k - 1)) & 1 : 1);
    out |= static_cast<uint8_t>(level << i);
  }
  return out;
}

void AvrBoard::on_uart_output(uint8_t byte) {
  stats_.uart_tx_since_reset++;
  if (byte == 0xF9) {  // Firmata REPORT_VERSION, then major and minor (7-bit data bytes)
    version_state_ = 1;
  } else if (version_state_ == 1 && byte < 0x80) {
    stats_.firmata_major = byte;
    version_state_ = 2;
  } else if (version_state_ == 2 && byte < 0x80) {
    stats_.firmata_minor = byte;
    version_state_ = 0;
  } else {
    version_state_ = 0;
  }
  if (!connected_) return;  // nobody has the port open: the bytes go nowhere
  double fw = firmware_baud_locked();
  if (baud_check_ && host_baud_ > 0 && std::fabs(host_baud_ / fw - 1.0) > kBaudTolerance) {
    byte = garble(byte, fw, host_baud_);
    stats_.garbled++;
  }
  if (to_host_.size() < (1u << 16)) {
    to_host_.push_back(byte);
    stats_.bytes_to_host++;
  }
}

void AvrBoard::feed_uart() {
  bool held = !powered_ || now_cycles_locked() < hold_until_ ||
              avr_->state == cpu_Done || avr_->state == cpu_Crashed;
  while (!to_avr_.empty()) {
    if (held || !rx_enabled_locked()) {  // RXEN off (or no CPU): the line is not listened to
      to_avr_.pop_front();
      stats_.bytes_lost_rx_disabled++;
      continue;
    }
    if (!xon_) break;  // the UART's receive FIFO is full: wait for XON
    uint8_t b = to_avr_.front();
    to_avr_.pop_front();
    double fw = firmware_baud_locked();
    if (baud_check_ && host_baud_ > 0 && std::fabs(host_baud_ / fw - 1.0) > kBaudTolerance) {
      b = garble(b, host_baud_, fw);
      stats_.garbled++;
    }
    stats_.bytes_from_host++;
    avr_raise_irq(uart_irq_, b);
  }
}

// ------------------------------------------------------------------------------ lifecycle
uint64_t AvrBoard::now_cycles_locked() const { return base_cycles_ + avr_->cycle; }

void AvrBoard::do_reset_locked() {
  uint64_t before = now_cycles_locked();
  avr_reset(avr_);
  no_level_polling(avr_);
  avr_->vcc = avr_->avcc = avr_->aref = 5000;
  base_cycles_ = before - avr_->cycle;  // simavr may restart its counter: emulated time goes on
  hold_until_ = before + boot_delay_cycles_;
  xon_ = true;
  stats_.resets++;
  stats_.uart_tx_since_reset = 0;
  stats_.firmata_major = stats_.firmata_minor = -1;
  version_state_ = 0;
  for (auto& port : timing_)
    for (auto& t : port) t = PinTiming{};
  for (size_t p = 0; p < ports_.size(); ++p) last_ddr_[p] = 0;
  for (size_t p = 0; p < ports_.size(); ++p)
    for (int bit = 0; bit < 8; ++bit) {
      last_level_[p][bit] = 0;
      if (driven_[p][bit] != 2) reapply_pin_locked(static_cast<int>(p), bit);
    }
  for (size_t ch = 0; ch < analog_mv_.size(); ++ch)
    if (analog_mv_[ch] >= 0) avr_raise_irq(adc_irq_ + ch, static_cast<uint32_t>(analog_mv_[ch]));
  for (auto* q : quads_) {  // avr_reset dropped every cycle timer
    q->armed = false;
    if (q->rate != 0) arm_quad_locked(*q);
  }
}

void AvrBoard::reset() {
  Lock l(*this);
  if (powered_) do_reset_locked();
}

void AvrBoard::set_power(bool on) {
  Lock l(*this);
  if (on && !powered_) {
    powered_ = true;
    do_reset_locked();
    hold_until_ = now_cycles_locked();  // power-on: the boot loader jumps straight to the sketch
  } else if (!on) {
    powered_ = false;
  }
}

void AvrBoard::start(double speed) {
  if (running_.load()) return;
  speed_ = speed;
  running_ = true;
  thread_ = std::thread([this] { loop(); });
}

void AvrBoard::stop() {
  running_ = false;
  if (thread_.joinable()) thread_.join();
}

void AvrBoard::set_speed(double speed) {
  speed_ = speed;
  pace_rebase_ = true;
}

void AvrBoard::loop() {
  using clock = std::chrono::steady_clock;
  const uint64_t slice = frequency_ / 4000;  // 250 us of emulated time
  auto t0 = clock::now();
  uint64_t c0 = 0;
  auto rtf_t = t0;
  uint64_t rtf_c = 0;
  {
    Lock l(*this);
    c0 = rtf_c = now_cycles_locked();
  }
  while (running_.load()) {
    uint64_t now_c;
    {
      std::unique_lock<std::mutex> l(mu_);
      uint64_t end = now_cycles_locked() + slice;
      bool cpu_ok = avr_->state != cpu_Done && avr_->state != cpu_Crashed;
      if (!powered_ || !cpu_ok || now_cycles_locked() + slice <= hold_until_) {
        avr_->cycle += slice;  // time passes, the CPU does not run
        avr_cycle_timer_process(avr_);
      } else {
        while (now_cycles_locked() < end) {
          int st = avr_run(avr_);
          if (st == cpu_Done || st == cpu_Crashed) break;
        }
      }
      service_pty();
      feed_uart();
      now_c = now_cycles_locked();
    }
    while (waiters_.load() > 0) std::this_thread::yield();

    auto now = clock::now();
    double speed = speed_.load();
    if (pace_rebase_) {
      pace_rebase_ = false;
      t0 = now;
      c0 = now_c;
    }
    if (speed > 0) {
      auto target = t0 + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(
                             static_cast<double>(now_c - c0) / frequency_ / speed));
      if (target > now + std::chrono::milliseconds(1)) {
        std::this_thread::sleep_until(target);
      } else if (now - target > std::chrono::milliseconds(200)) {
        t0 = now;  // cannot keep up: run as fast as possible from here, no catch-up burst
        c0 = now_c;
      }
    }
    double dt = std::chrono::duration<double>(now - rtf_t).count();
    if (dt >= 0.5) {
      rtf_ = static_cast<double>(now_c - rtf_c) / frequency_ / dt;
      rtf_t = now;
      rtf_c = now_c;
    }
  }
}

// ------------------------------------------------------------------------------ pins
void AvrBoard::on_pin(int port, int bit, uint32_t value) {
  avr_ioport_state_t st{};
  if (avr_ioctl(avr_, AVR_IOCTL_IOPORT_GETSTATE(ports_[port]), &st) != 0) return;
  if (!((st.ddr >> bit) & 1)) return;  // an input: driven from outside, not an output edge
  uint8_t level = value ? 1 : 0;
  if (level == last_level_[port][bit]) return;
  last_level_[port][bit] = level;
  uint64_t c = now_cycles_locked();
  PinTiming& t = timing_[port][bit];
  if (level) {
    if (t.last_rise) t.period_cycles = c - t.last_rise;
    t.last_rise = c;
  } else {
    if (t.last_rise && t.last_rise > t.last_fall) t.high_cycles = c - t.last_rise;
    t.last_fall = c;
  }
  if (capture_) {
    if (edges_.size() < 1000000)
      edges_.push_back(Edge{port, bit, level != 0, c});
    else
      stats_.edges_dropped++;
  }
}

// The external level again (simavr's pin IRQs drop a repeated value, and an output phase
// leaves the PIN register at the output level): raise it with the filter off.
void AvrBoard::reapply_pin_locked(int port, int bit) {
  avr_irq_t* irq = port_irqs_[port] + bit;
  uint8_t flags = avr_irq_get_flags(irq);
  avr_irq_set_flags(irq, flags & ~IRQ_FLAG_FILTERED);
  avr_raise_irq(irq, driven_[port][bit]);
  avr_irq_set_flags(irq, flags);
}

void AvrBoard::on_ddr(int port, uint8_t ddr) {
  uint8_t released = last_ddr_[port] & ~ddr;  // outputs that became inputs
  last_ddr_[port] = ddr;
  for (int bit = 0; bit < 8; ++bit)
    if (((released >> bit) & 1) && driven_[port][bit] != 2) reapply_pin_locked(port, bit);
}

void AvrBoard::raise_pin_locked(int port, int bit, bool level) {
  driven_[port][bit] = level ? 1 : 0;
  avr_raise_irq(port_irqs_[port] + bit, level ? 1 : 0);
}

void AvrBoard::set_digital(int port, int bit, bool level) {
  Lock l(*this);
  raise_pin_locked(port, bit, level);
}

void AvrBoard::set_analog(int channel, double volts) {
  Lock l(*this);
  if (analog_mv_.size() <= static_cast<size_t>(channel)) analog_mv_.resize(channel + 1, -1);
  analog_mv_[channel] = static_cast<int>(std::lround(volts * 1000.0));
  avr_raise_irq(adc_irq_ + channel, static_cast<uint32_t>(analog_mv_[channel]));
}

void AvrBoard::on_adc_trigger(uint32_t value) {
  union {
    avr_adc_mux_t mux;
    uint32_t v;
  } e;
  e.v = value;
  if (!adc_ || e.mux.kind != ADC_MUX_SINGLE || e.mux.src >= 8) return;
  unsigned channel = e.mux.gain ? e.mux.gain - 1u : e.mux.src;
  int mv = channel < analog_mv_.size() ? analog_mv_[channel] : -1;
  adc_->adc_values[e.mux.src] = static_cast<uint16_t>(mv < 0 ? 0 : mv);
}

PortState AvrBoard::port_state(int port) {
  Lock l(*this);
  avr_ioport_state_t st{};
  avr_ioctl(avr_, AVR_IOCTL_IOPORT_GETSTATE(ports_[port]), &st);
  PortState s;
  s.port = st.port;
  s.ddr = st.ddr;
  s.pin = st.pin;
  return s;
}

int AvrBoard::driven_level(int port, int bit) {
  Lock l(*this);
  return driven_[port][bit] == 2 ? -1 : driven_[port][bit];
}

PinTiming AvrBoard::pin_timing(int port, int bit) {
  Lock l(*this);
  return timing_[port][bit];
}

std::vector<uint8_t> AvrBoard::read_data(uint32_t addr, uint32_t n) {
  Lock l(*this);
  if (addr + n > avr_->ramend + 1u) throw std::out_of_range("data address out of range");
  return std::vector<uint8_t>(avr_->data + addr, avr_->data + addr + n);
}

// ------------------------------------------------------------------------------ quadrature
static avr_cycle_count_t quad_trampoline(avr_t*, avr_cycle_count_t when, void* param) {
  auto* q = static_cast<AvrBoard::Quad*>(param);
  return q->board->on_quadrature(q->id, when);
}

void AvrBoard::arm_quad_locked(Quad& q) {
  avr_cycle_timer_cancel(avr_, quad_trampoline, &q);
  q.armed = false;
  if (q.rate == 0) return;
  double period = frequency_ / std::fabs(q.rate);
  auto first = static_cast<avr_cycle_count_t>(std::max(1.0, std::floor(period)));
  avr_cycle_timer_register(avr_, first, quad_trampoline, &q);
  q.armed = true;
}

uint64_t AvrBoard::on_quadrature(int id, uint64_t when) {
  Quad& q = *quads_[id];
  if (q.rate == 0) {
    q.armed = false;
    return 0;
  }
  int dir = q.rate > 0 ? 1 : -1;
  q.phase = (q.phase + dir) & 3;
  // Gray code 00 -> 10 -> 11 -> 01 (A, B): A leads B for positive rates.
  static const int kA[4] = {0, 1, 1, 0};
  static const int kB[4] = {0, 0, 1, 1};
  raise_pin_locked(q.port_a, q.bit_a, kA[q.phase]);
  raise_pin_locked(q.port_b, q.bit_b, kB[q.phase]);
  q.edges += dir;
  double period = frequency_ / std::fabs(q.rate) + q.carry;
  double whole = std::max(1.0, std::floor(period));
  q.carry = period - whole;
  if (q.carry < 0) q.carry = 0;
  return when + static_cast<uint64_t>(whole);
}

int AvrBoard::add_quadrature(int port_a, int bit_a, int port_b, int bit_b) {
  Lock l(*this);
  auto* q = new Quad{};
  q->board = this;
  q->id = static_cast<int>(quads_.size());
  q->port_a = port_a;
  q->bit_a = bit_a;
  q->port_b = port_b;
  q->bit_b = bit_b;
  quads_.push_back(q);
  raise_pin_locked(port_a, bit_a, false);
  raise_pin_locked(port_b, bit_b, false);
  return q->id;
}

void AvrBoard::set_quadrature_rate(int id, double edges_per_s) {
  Lock l(*this);
  Quad& q = *quads_.at(id);
  if (!std::isfinite(edges_per_s)) throw std::invalid_argument("rate must be finite");
  bool was_armed = q.armed;
  double old = q.rate;
  q.rate = edges_per_s;
  if (edges_per_s == 0) return;  // the pending timer sees rate 0 and stops
  // re-arm when starting, reversing or changing the period a lot, so the new rate applies now
  if (!was_armed || (old > 0) != (edges_per_s > 0) || std::fabs(edges_per_s) > 1.5 * std::fabs(old) ||
      std::fabs(edges_per_s) < std::fabs(old) / 1.5)
    arm_quad_locked(q);
}

int64_t AvrBoard::quadrature_edges(int id) {
  Lock l(*this);
  return quads_.at(id)->edges;
}

// ------------------------------------------------------------------------------ misc
void AvrBoard::set_edge_capture(bool on) {
  Lock l(*this);
  capture_ = on;
  if (!on) edges_.clear();
}

std::vector<Edge> AvrBoard::take_edges() {
  Lock l(*this);
  std::vector<Edge> out;
  out.swap(edges_);
  return out;
}

uint64_t AvrBoard::cycles() {
  Lock l(*this);
  return now_cycles_locked();
}

Stats AvrBoard::stats() {
  Lock l(*this);
  Stats s = stats_;
  s.host_baud = host_baud_;
  s.firmware_baud = firmware_baud_locked();
  s.connected = connected_;
  s.powered = powered_;
  s.held_in_reset = now_cycles_locked() < hold_until_;
  s.cpu_state = avr_->state;
  return s;
}

}  // namespace edgebot_avr
