// pybind11 module edgebot_avr._edgebot_avr: the simavr board. Every method releases the GIL
// (they wait for the emulation thread's slice to end).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "avr_board.hpp"

namespace py = pybind11;
using edgebot_avr::AvrBoard;

PYBIND11_MODULE(_edgebot_avr, m) {
  m.doc() = "simavr-based emulated AVR with USART0 on a pseudo-terminal";
  using rel = py::call_guard<py::gil_scoped_release>;

  py::class_<edgebot_avr::PortState>(m, "PortState")
      .def_readonly("port", &edgebot_avr::PortState::port)
      .def_readonly("ddr", &edgebot_avr::PortState::ddr)
      .def_readonly("pin", &edgebot_avr::PortState::pin);
  py::class_<edgebot_avr::PinTiming>(m, "PinTiming")
      .def_readonly("last_rise", &edgebot_avr::PinTiming::last_rise)
      .def_readonly("last_fall", &edgebot_avr::PinTiming::last_fall)
      .def_readonly("high_cycles", &edgebot_avr::PinTiming::high_cycles)
      .def_readonly("period_cycles", &edgebot_avr::PinTiming::period_cycles);
  py::class_<edgebot_avr::Stats>(m, "Stats")
      .def_readonly("bytes_to_host", &edgebot_avr::Stats::bytes_to_host)
      .def_readonly("bytes_from_host", &edgebot_avr::Stats::bytes_from_host)
      .def_readonly("bytes_lost_rx_disabled", &edgebot_avr::Stats::bytes_lost_rx_disabled)
      .def_readonly("garbled", &edgebot_avr::Stats::garbled)
      .def_readonly("resets", &edgebot_avr::Stats::resets)
      .def_readonly("opens", &edgebot_avr::Stats::opens)
      .def_readonly("edges_dropped", &edgebot_avr::Stats::edges_dropped)
      .def_readonly("host_baud", &edgebot_avr::Stats::host_baud)
      .def_readonly("firmware_baud", &edgebot_avr::Stats::firmware_baud)
      .def_readonly("connected", &edgebot_avr::Stats::connected)
      .def_readonly("powered", &edgebot_avr::Stats::powered)
      .def_readonly("held_in_reset", &edgebot_avr::Stats::held_in_reset)
      .def_readonly("uart_tx_since_reset", &edgebot_avr::Stats::uart_tx_since_reset)
      .def_readonly("firmata_major", &edgebot_avr::Stats::firmata_major)
      .def_readonly("firmata_minor", &edgebot_avr::Stats::firmata_minor)
      .def_readonly("cpu_state", &edgebot_avr::Stats::cpu_state);

  py::class_<AvrBoard>(m, "AvrBoard")
      .def(py::init<const std::string&, uint32_t, const std::vector<uint8_t>&, const std::string&,
                    double, bool>(),
           py::arg("mcu"), py::arg("frequency"), py::arg("flash"), py::arg("ports"),
           py::arg("boot_delay_s") = 0.25, py::arg("baud_check") = true)
      .def("open_pty", &AvrBoard::open_pty, rel())
      .def("close_pty", &AvrBoard::close_pty, rel())
      .def("start", &AvrBoard::start, py::arg("speed"), rel())
      .def("stop", &AvrBoard::stop, rel())
      .def("set_speed", &AvrBoard::set_speed, rel())
      .def("set_power", &AvrBoard::set_power, rel())
      .def("reset", &AvrBoard::reset, rel())
      .def("set_digital", &AvrBoard::set_digital, rel())
      .def("set_analog", &AvrBoard::set_analog, rel())
      .def("port_state", &AvrBoard::port_state, rel())
      .def("pin_timing", &AvrBoard::pin_timing, rel())
      .def("driven_level", &AvrBoard::driven_level, rel())
      .def("read_data", &AvrBoard::read_data, rel())
      .def("add_quadrature", &AvrBoard::add_quadrature, rel())
      .def("set_quadrature_rate", &AvrBoard::set_quadrature_rate, rel())
      .def("quadrature_edges", &AvrBoard::quadrature_edges, rel())
      .def("set_edge_capture", &AvrBoard::set_edge_capture, rel())
      .def("take_edges",
           [](AvrBoard& b) {
             std::vector<edgebot_avr::Edge> edges;
             {
               py::gil_scoped_release r;
               edges = b.take_edges();
             }
             py::list out;
             for (const auto& e : edges) out.append(py::make_tuple(e.port_index, e.bit, e.level, e.cycle));
             return out;
           })
      .def("cycles", &AvrBoard::cycles, rel())
      .def_property_readonly("frequency", &AvrBoard::frequency)
      .def("realtime_factor", &AvrBoard::realtime_factor)
      .def("stats", &AvrBoard::stats, rel())
      .def_property_readonly("running", &AvrBoard::running);
}
