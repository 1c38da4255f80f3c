# Release build and install rules for HANet, included from the top-level Makefile.
#
#   make release                       the release build: .build/release/hanet, its plugins,
#                                      and the manual page and completions generated from it
#   make install [PREFIX=/usr/local] [DESTDIR=...]
#   make uninstall [PREFIX=...] [DESTDIR=...]
#
# Installs: hanet -> $(BINDIR); the built-in plugins -> $(HANET_PLUGINS_DIR)
# (root-owned, mode 0644, in a 0755 folder: the host refuses anything
# group/world-writable when it runs as root); the plugin ABI header ->
# $(INCLUDEDIR)/hanet; hanet-plugin.pc -> $(PKGCONFIGDIR), so third-party
# plugins build with `pkg-config --cflags hanet-plugin`; the systemd unit;
# hanet(1); bash, zsh and fish completions.
#
# The release binary links the Swift runtime statically (--static-swift-stdlib):
# it runs on a machine without the Swift toolchain, needing only the C
# libraries it names (libnl, libnftables, libpcap, libudev, libstdc++).

PREFIX            ?= /usr/local
BINDIR            ?= $(PREFIX)/bin
INCLUDEDIR        ?= $(PREFIX)/include
PKGCONFIGDIR      ?= $(PREFIX)/lib/pkgconfig
MANDIR            ?= $(PREFIX)/share/man
BASHCOMPDIR       ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR        ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR       ?= $(PREFIX)/share/fish/vendor_completions.d
HANET_PLUGINS_DIR ?= /usr/lib/hanet/plugins
HANET_BUILD_DIR   ?= .build/release
# The generated manual page and completion scripts.
HANET_DOC_DIR     ?= $(HANET_BUILD_DIR)/hanet-doc
HANET_VERSION     := $(shell sh scripts/build-info.sh version)
# The built-in plugins, and those that link libpcap: Package.swift's one-line lists
# `builtinPlugins` and `pcapPlugins`, the one place they are kept.
HANET_PACKAGE_LIST = $(shell sed -n 's/^let $(1) = \[\(.*\)\]$$/\1/p' Package.swift | tr -d '",')
HANET_PLUGIN_IDS  ?= $(call HANET_PACKAGE_LIST,builtinPlugins)
HANET_PLUGIN_H    := Sources/CHANetPlugin/include/hanet/plugin.h
HANET_ABI_MAJOR   = $(shell sed -n 's/^\#define HANET_PLUGIN_ABI_MAJOR \([0-9]*\).*/\1/p' $(HANET_PLUGIN_H))
HANET_ABI_MINOR   = $(shell sed -n 's/^\#define HANET_PLUGIN_ABI_MINOR \([0-9]*\).*/\1/p' $(HANET_PLUGIN_H))
# HANET_BUILD_INFO selects the commit scripts/build-info.sh writes (Sources/hanet/BuildInfo.swift).
HANET_RELEASE_FLAGS ?= -c release --static-swift-stdlib -Xswiftc -DHANET_BUILD_INFO
# The built-in plugins as installed: compiled here with the C compiler, as a third-party
# plugin is. SwiftPM links its builds of them with the Swift runtime (libswiftCore.so), which
# an installed system does not have; these need only libc (and libpcap for the probing ones).
# Messages cut to their buffer are intended: no -Wformat-truncation (gcc only).
HANET_PLUGIN_BUILD_DIR ?= $(HANET_BUILD_DIR)/hanet-plugins
HANET_PLUGIN_CFLAGS    ?= -O2 -fPIC -fvisibility=hidden -Wall -Werror -Wno-format-truncation -D_FORTIFY_SOURCE=2 -fstack-protector-strong
HANET_PLUGIN_LDFLAGS   ?= -shared -Wl,-z,relro,-z,now
HANET_PCAP_PLUGINS     ?= $(call HANET_PACKAGE_LIST,pcapPlugins)
CC                     ?= cc
HANET_PLUGIN_SOS       = $(HANET_PLUGIN_IDS:%=$(HANET_PLUGIN_BUILD_DIR)/libhanet-plugin-%.so)
# What every installed plugin is compiled from besides its own folder (and these rules).
HANET_PLUGIN_COMMON    = $(wildcard Plugins/support/*.c Plugins/support/include/*.h Sources/CHANetPlugin/include/hanet/*.h) mk/install.mk
INSTALL           ?= install
SYSTEMD_UNITDIR   ?= /lib/systemd/system

# The built-in plugin ids, one line (scripts/test-package.sh reads them here).
plugin-ids:
	@echo $(HANET_PLUGIN_IDS)

.PHONY: plugin-ids release release-swift install install-bin install-plugins install-plugin-dev install-systemd install-doc uninstall

# SwiftPM makes .build/release a link to its own folder: the plugins are compiled into it after.
release-swift: deps
	sh scripts/build-info.sh write Sources/hanet/BuildCommit.generated.swift
	$(SWIFT) build $(HANET_RELEASE_FLAGS)

release: release-swift $(HANET_PLUGIN_SOS)
	mkdir -p $(HANET_DOC_DIR)
	python3 scripts/gen-manual.py $(HANET_BUILD_DIR)/hanet $(HANET_DOC_DIR)/hanet.1
	# Completion files are sourced, not run: no #! line.
	$(HANET_BUILD_DIR)/hanet --generate-completion-script bash | sed '1{/^#!/d}' > $(HANET_DOC_DIR)/hanet.bash
	$(HANET_BUILD_DIR)/hanet --generate-completion-script zsh | sed '1{/^#!/d}' > $(HANET_DOC_DIR)/_hanet
	$(HANET_BUILD_DIR)/hanet --generate-completion-script fish | sed '1{/^#!/d}' > $(HANET_DOC_DIR)/hanet.fish

# One installed plugin, rebuilt only when its sources changed: `make deb` after `make install`
# (the package test) reuses them instead of compiling the eight again (3.4 s on 2 cores).
.SECONDEXPANSION:
$(HANET_PLUGIN_BUILD_DIR)/libhanet-plugin-%.so: $$(wildcard Plugins/$$*/*.c Plugins/$$*/*.h) $(HANET_PLUGIN_COMMON) | release-swift
	@mkdir -p $(@D)
	$(CC) $(HANET_PLUGIN_CFLAGS) -I Sources/CHANetPlugin/include -I Plugins/support/include \
	  -o $@ Plugins/$*/*.c Plugins/support/*.c $(HANET_PLUGIN_LDFLAGS) $(if $(filter $*,$(HANET_PCAP_PLUGINS)),-lpcap)

install: release
	$(MAKE) --no-print-directory install-bin install-plugins install-plugin-dev install-systemd install-doc

install-bin:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(HANET_BUILD_DIR)/hanet $(DESTDIR)$(BINDIR)/hanet

install-plugins:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(HANET_PLUGINS_DIR)
	for id in $(HANET_PLUGIN_IDS); do \
	  $(INSTALL) -m 0644 $(HANET_PLUGIN_BUILD_DIR)/libhanet-plugin-$$id.so $(DESTDIR)$(HANET_PLUGINS_DIR)/ || exit 1; \
	done

install-plugin-dev:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(INCLUDEDIR)/hanet $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 0644 $(HANET_PLUGIN_H) $(DESTDIR)$(INCLUDEDIR)/hanet/plugin.h
	$(INSTALL) -m 0644 $(dir $(HANET_PLUGIN_H))plugin-util.h $(DESTDIR)$(INCLUDEDIR)/hanet/plugin-util.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@PLUGINSDIR@|$(HANET_PLUGINS_DIR)|g' \
	    -e 's|@VERSION@|$(HANET_VERSION)|g' -e 's|@ABI_MAJOR@|$(HANET_ABI_MAJOR)|g' \
	    -e 's|@ABI_MINOR@|$(HANET_ABI_MINOR)|g' \
	    Sources/CHANetPlugin/hanet-plugin.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/hanet-plugin.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/hanet-plugin.pc

# The unit names the binary by its installed path.
install-systemd:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSTEMD_UNITDIR)
	sed -e 's|/usr/local/bin/hanet|$(BINDIR)/hanet|g' packaging/hanet.service > $(DESTDIR)$(SYSTEMD_UNITDIR)/hanet.service
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNITDIR)/hanet.service

install-doc:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	$(INSTALL) -m 0644 $(HANET_DOC_DIR)/hanet.1 $(DESTDIR)$(MANDIR)/man1/hanet.1
	$(INSTALL) -m 0644 $(HANET_DOC_DIR)/hanet.bash $(DESTDIR)$(BASHCOMPDIR)/hanet
	$(INSTALL) -m 0644 $(HANET_DOC_DIR)/_hanet $(DESTDIR)$(ZSHCOMPDIR)/_hanet
	$(INSTALL) -m 0644 $(HANET_DOC_DIR)/hanet.fish $(DESTDIR)$(FISHCOMPDIR)/hanet.fish

# Removes every file install wrote, and the folders that are HANet's own.
uninstall:
	rm -f $(DESTDIR)$(SYSTEMD_UNITDIR)/hanet.service
	rm -f $(DESTDIR)$(BINDIR)/hanet $(DESTDIR)$(INCLUDEDIR)/hanet/plugin.h $(DESTDIR)$(INCLUDEDIR)/hanet/plugin-util.h $(DESTDIR)$(PKGCONFIGDIR)/hanet-plugin.pc
	rm -f $(DESTDIR)$(MANDIR)/man1/hanet.1 $(DESTDIR)$(BASHCOMPDIR)/hanet $(DESTDIR)$(ZSHCOMPDIR)/_hanet $(DESTDIR)$(FISHCOMPDIR)/hanet.fish
	for id in $(HANET_PLUGIN_IDS); do rm -f $(DESTDIR)$(HANET_PLUGINS_DIR)/libhanet-plugin-$$id.so; done
	-rmdir $(DESTDIR)$(INCLUDEDIR)/hanet $(DESTDIR)$(HANET_PLUGINS_DIR) 2>/dev/null
	-rmdir $(DESTDIR)$(dir $(HANET_PLUGINS_DIR:/=)) 2>/dev/null
