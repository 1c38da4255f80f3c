# Install rules for HANet, included from the top-level Makefile.
#
#   make install [PREFIX=/usr/local] [DESTDIR=...] [HANET_BUILD_DIR=.build/release]
#
# Installs: hanet -> $(BINDIR); the built-in plugins -> $(HANET_PLUGINS_DIR)
# (root-owned, mode 0644, in a 0755 folder: the host refuses anything
# group/world-writable when it runs as root); the plugin ABI header ->
# $(INCLUDEDIR)/hanet; hanet-plugin.pc -> $(PKGCONFIGDIR), so third-party
# plugins build with `pkg-config --cflags hanet-plugin`.

PREFIX            ?= /usr/local
BINDIR            ?= $(PREFIX)/bin
INCLUDEDIR        ?= $(PREFIX)/include
PKGCONFIGDIR      ?= $(PREFIX)/lib/pkgconfig
HANET_PLUGINS_DIR ?= /usr/lib/hanet/plugins
HANET_BUILD_DIR   ?= .build/release
HANET_VERSION     ?= 0.1.0
HANET_PLUGIN_IDS  ?= ethernet usbnet ppp-serial ieee1394 carrier arp-monitor ping-file
HANET_PLUGIN_H    := Sources/CHANetPlugin/include/hanet/plugin.h
HANET_ABI_MAJOR   = $(shell sed -n 's/^\#define HANET_PLUGIN_ABI_MAJOR \([0-9]*\).*/\1/p' $(HANET_PLUGIN_H))
HANET_ABI_MINOR   = $(shell sed -n 's/^\#define HANET_PLUGIN_ABI_MINOR \([0-9]*\).*/\1/p' $(HANET_PLUGIN_H))
INSTALL           ?= install
SYSTEMD_UNITDIR   ?= /lib/systemd/system

.PHONY: install install-bin install-plugins install-plugin-dev install-systemd uninstall

install: install-bin install-plugins install-plugin-dev install-systemd

install-bin:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(HANET_BUILD_DIR)/hanet $(DESTDIR)$(BINDIR)/hanet

install-plugins:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(HANET_PLUGINS_DIR)
	for id in $(HANET_PLUGIN_IDS); do \
	  $(INSTALL) -m 0644 $(HANET_BUILD_DIR)/libhanet-plugin-$$id.so $(DESTDIR)$(HANET_PLUGINS_DIR)/ || exit 1; \
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

uninstall:
	rm -f $(DESTDIR)$(SYSTEMD_UNITDIR)/hanet.service
	rm -f $(DESTDIR)$(BINDIR)/hanet $(DESTDIR)$(INCLUDEDIR)/hanet/plugin.h $(DESTDIR)$(INCLUDEDIR)/hanet/plugin-util.h $(DESTDIR)$(PKGCONFIGDIR)/hanet-plugin.pc
	for id in $(HANET_PLUGIN_IDS); do rm -f $(DESTDIR)$(HANET_PLUGINS_DIR)/libhanet-plugin-$$id.so; done
	-rmdir $(DESTDIR)$(INCLUDEDIR)/hanet $(DESTDIR)$(HANET_PLUGINS_DIR) 2>/dev/null
