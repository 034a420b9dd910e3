# edgebot — the two commands of the README are `make demo` and `make test`; both set up first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
ENV := set +u; source ./env.sh; set -u;

# demo knobs: DURATION (simulated s; empty = until the mission is done / the target is reached,
# or the scenario's time limit), SCENARIO (config/scenarios/<name>.yaml; empty = mission_three,
# the mission; open_field or near_ball = the quick "reach one ball" run with the follower)
DURATION ?=
SCENARIO ?=
# ROBOTS: rovers in one world. 1 = the demo as above; 2 or 3 = launch/fleet.launch.yaml: one
# simulator, each rover's stack under roverK (frames roverK/...), MQTT edgebot/roverK/...,
# scenario fleet_field unless SCENARIO is given; ends when every rover reached its target
ROBOTS ?= 1
# test knobs: PYTEST_ARGS="-k firmata -x"
PYTEST_ARGS ?=

.PHONY: help setup setup-ml build demo test test-long test-all test-fast bench faults clean
help:
	@echo "make demo   - the whole robot in simulation, headless; ends by itself (DURATION=60 SCENARIO=near_ball ROBOTS=3)"
	@echo "make test   - set up, build and run the tests (pytest + gtests) but the long campaigns, on two workers"
	@echo "make test-long - the long campaigns make test leaves out (ten seeded runs, ...); make test-all - both"
	@echo "make setup  - only set up .venv and build the workspace (idempotent)"
	@echo "make bench  - run every benchmark, refresh benchmarks/results/"
	@echo "make faults - the whole-robot fault campaign (a few minutes): fault_output/ + benchmarks/results/faults.*"

setup:
	@bash scripts/setup.sh

setup-ml:
	@EDGEBOT_ML=1 bash scripts/setup.sh

build: setup

# ARDUINO=model (default): the Python board model; ARDUINO=real: the stock StandardFirmata
# on an emulated AVR (edgebot_avr), with its pin map config/firmata_standard.yaml (wheel_states
# then come from its encoders through firmata_node, not from the simulator)
ARDUINO ?= model
ARDUINO_ARGS_model :=
ARDUINO_ARGS_real := arduino_firmware:=StandardFirmata arduino_pin_map:=firmata_standard.yaml \
	sim_wheel_states:=false
demo: setup
	@$(if $(filter model real,$(ARDUINO)),,$(error ARDUINO=$(ARDUINO): allowed model, real))
	@$(if $(filter 1 2 3,$(ROBOTS)),,$(error ROBOTS=$(ROBOTS): allowed 1, 2, 3))
	@$(if $(and $(filter-out 1,$(ROBOTS)),$(filter real,$(ARDUINO))),$(error ROBOTS=$(ROBOTS) runs the board model only (ARDUINO=model)))
	@$(ENV) python -m edgebot_cli.demo --duration "$(DURATION)" --scenario "$(SCENARIO)" \
		$(if $(DURATION),,--stop-when-reached --until-time-limit) \
		$(if $(filter-out 1,$(ROBOTS)),robots:=$(ROBOTS)) $(ARDUINO_ARGS_$(ARDUINO))

test: setup-ml
	@$(ENV) bash scripts/run_tests.sh $(PYTEST_ARGS)

# the long campaigns make test leaves out (tests marked long: ten seeded runs, a 60 s broker
# outage, the demo on the real firmware): about five minutes
test-long: setup-ml
	@$(ENV) bash scripts/run_tests.sh -m long

# everything, make test's two workers
test-all: setup-ml
	@$(ENV) bash scripts/run_tests.sh -n 2 --dist loadgroup

bench: setup-ml
	@$(ENV) bash scripts/run_benchmarks.sh

# every fault once (FAULTS=quick or a comma list; TRIALS=3 for p50/max over repeats)
FAULTS ?= all
TRIALS ?= 1
faults: setup-ml
	@$(ENV) python benchmarks/faults/campaign.py --faults "$(FAULTS)" --trials "$(TRIALS)" \
		--output fault_output $(if $(filter all,$(FAULTS)),--save)

clean:
	rm -rf build install log env.sh
