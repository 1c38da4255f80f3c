# The Debian package, built with dpkg-deb from `make install` into a staging folder.
#
#   make deb      -> hanet_$(HANET_VERSION)_$(DEB_ARCH).deb in the top folder
#
# It carries /usr/bin/hanet (the Swift runtime linked in, see install.mk),
# the plugins in /usr/lib/hanet/plugins (where hanet looks first), the plugin
# header and hanet-plugin.pc, the unit in /lib/systemd/system, hanet(1), the
# completions, and /etc/hanet/hanet.toml.example as a conffile. Depends are
# computed by dpkg-shlibdeps from the libraries hanet and its plugins link.

DEB_ARCH    := $(shell dpkg --print-architecture 2>/dev/null)
DEB_STAGE   := $(HANET_BUILD_DIR)/deb
DEB_ROOT    := $(DEB_STAGE)/root
DEB_FILE    := hanet_$(HANET_VERSION)_$(DEB_ARCH).deb
# dpkg-deb's compression: xz at its default level 6, as Debian ships packages. The package
# test builds with -z1 (12.3 s -> 1.2 s for the 22 MB tree on these machines, 5.9 -> 6.7 MB):
# nothing it checks depends on the level.
DEB_COMPRESS ?= -Zxz
DEB_INSTALL := PREFIX=/usr SYSTEMD_UNITDIR=/lib/systemd/system PKGCONFIGDIR=/usr/share/pkgconfig \
               ZSHCOMPDIR=/usr/share/zsh/vendor-completions DESTDIR=$(abspath $(DEB_ROOT))

.PHONY: deb

deb: release
	rm -rf $(DEB_STAGE)
	$(MAKE) --no-print-directory install-bin install-plugins install-plugin-dev install-systemd install-doc $(DEB_INSTALL)
	strip --strip-unneeded --remove-section=.comment --remove-section=.note $(DEB_ROOT)/usr/bin/hanet $(DEB_ROOT)/usr/lib/hanet/plugins/*.so
	gzip -9n $(DEB_ROOT)/usr/share/man/man1/hanet.1
	install -d -m 0755 $(DEB_ROOT)/etc/hanet $(DEB_ROOT)/usr/share/doc/hanet $(DEB_ROOT)/DEBIAN
	install -m 0644 packaging/hanet.toml.example $(DEB_ROOT)/etc/hanet/hanet.toml.example
	install -m 0644 packaging/deb/copyright $(DEB_ROOT)/usr/share/doc/hanet/copyright
	sh packaging/deb/changelog.sh $(HANET_VERSION) | gzip -9n > $(DEB_ROOT)/usr/share/doc/hanet/changelog.gz
	chmod 0644 $(DEB_ROOT)/usr/share/doc/hanet/changelog.gz
	install -m 0644 packaging/deb/conffiles $(DEB_ROOT)/DEBIAN/conffiles
	install -m 0755 packaging/deb/postinst packaging/deb/prerm packaging/deb/postrm $(DEB_ROOT)/DEBIAN/
	# dpkg-shlibdeps reads debian/control for the package's name; a minimal one in the staging folder suffices.
	mkdir -p $(DEB_STAGE)/debian && printf 'Source: hanet\n\nPackage: hanet\nArchitecture: any\n' > $(DEB_STAGE)/debian/control
	cd $(DEB_STAGE) && dpkg-shlibdeps -O root/usr/bin/hanet root/usr/lib/hanet/plugins/*.so 2>/dev/null \
	  | sed -n 's/^shlibs:Depends=//p' > depends
	test -s $(DEB_STAGE)/depends
	sed -e 's|@VERSION@|$(HANET_VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
	    -e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" \
	    -e "s|@DEPENDS@|$$(cat $(DEB_STAGE)/depends)|" packaging/deb/control.in > $(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find . -type f ! -path './DEBIAN/*' -printf '%P\n' | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums
	dpkg-deb --root-owner-group $(DEB_COMPRESS) --build $(DEB_ROOT) $(DEB_FILE)
	@ls -l $(DEB_FILE)
