# HANet — the two commands of the README, and the rest.
#   make demo    a live failover on a built-in network of namespaces (root)
#   make test    install what the tests need, build, run `swift test` (root)
#   make bench   the benchmark: figures measured side by side in one run (root)
#   make bench-ab BASE=<git rev>   that rev's build and this tree's, side by side in one run (mk/bench.mk)
#   make install / make deb   mk/install.mk, mk/deb.mk

SWIFT ?= swift
PREFIX ?= /usr/local
DEBS = libnl-3-dev libnl-route-3-dev libnftables-dev libpcap-dev libudev-dev libssl-dev \
       nftables iproute2 iperf3 wrk socat curl tcpdump iputils-ping python3 nginx pkg-config make gcc python3-matplotlib \
       dpkg-dev lintian man-db systemd bird2 qemu-system-x86 busybox-static kmod

.PHONY: deps build test test-fast demo demo-routed bench install clean

# Installs the Debian packages only when one is missing, so repeated runs are quick.
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(SWIFT) build

# The suite is XCTest; without Swift Testing's empty run its summary is the last line.
# Then the package test: a fresh copy of the tree through make install and make deb,
# the package installed on this machine, checked and purged (one release build).
# Last, the USB links on real drivers: two QEMU guests on Debian's kernel (software
# emulation, 1.5 to 3 minutes on 2 cores); its counts line closes the run.
test: build
	$(SWIFT) test --disable-swift-testing
	bash scripts/test-package.sh
	python3 scripts/test-usb-vm.py

# The fast tier: pure decisions and the whole daemon on fakes; no root, seconds once built.
test-fast:
	$(SWIFT) test --disable-swift-testing --filter 'HANetCoreTests|DecisionTests'

demo: build
	bash scripts/demo.sh

# The routed variant: servers on two LANs behind a router running BIRD (BGP + BFD).
demo-routed: build
	bash scripts/demo.sh --routed

bench: build
	bash scripts/bench.sh

clean:
	rm -rf .build hanet_*.deb Sources/hanet/BuildCommit.generated.swift

-include mk/install.mk
-include mk/bench.mk
-include mk/deb.mk
