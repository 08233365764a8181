# dist/: what an installation needs besides the programs: the systemd unit,
# tmpfiles.d and sysusers.d snippets and an example signer.conf, all
# generated with the configured paths (Makefile.am: edit_paths).
DIST_GENERATED = \
	dist/p11-signerd.service \
	dist/p11-signerd.socket \
	dist/p11-signer.tmpfiles \
	dist/p11-signer.sysusers \
	dist/signer.conf \
	$(NULL)
noinst_DATA = $(DIST_GENERATED)
EXTRA_DIST += \
	dist/p11-signerd.service.in \
	dist/p11-signerd.socket.in \
	dist/p11-signer.tmpfiles.in \
	dist/p11-signer.sysusers.in \
	dist/signer.conf.in \
	$(NULL)
CLEANFILES += $(DIST_GENERATED)

dist/p11-signerd.service: $(srcdir)/dist/p11-signerd.service.in Makefile
dist/p11-signerd.socket: $(srcdir)/dist/p11-signerd.socket.in Makefile
dist/p11-signer.tmpfiles: $(srcdir)/dist/p11-signer.tmpfiles.in Makefile
dist/p11-signer.sysusers: $(srcdir)/dist/p11-signer.sysusers.in Makefile
dist/signer.conf: $(srcdir)/dist/signer.conf.in Makefile
$(DIST_GENERATED):
	$(AM_V_GEN)$(MKDIR_P) dist && $(edit_paths) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@

# The example configuration never replaces one already there (an operator's
# edits); uninstall removes it only while it is still the unedited example.
# The lock and state directories are made here too, for an installation
# that systemd-tmpfiles does not manage (another prefix, no systemd).
confdir = $(sysconfdir)/p11-signer
rundir = $(runstatedir)/p11-signer
statedir = $(localstatedir)/lib/p11-signer
install-data-local: $(DIST_GENERATED)
	$(MKDIR_P) '$(DESTDIR)$(systemdsystemunitdir)' '$(DESTDIR)$(tmpfilesdir)' \
		'$(DESTDIR)$(sysusersdir)' '$(DESTDIR)$(confdir)' \
		'$(DESTDIR)$(rundir)' '$(DESTDIR)$(statedir)'
	$(INSTALL_DATA) dist/p11-signerd.service '$(DESTDIR)$(systemdsystemunitdir)/p11-signerd.service'
	$(INSTALL_DATA) dist/p11-signerd.socket '$(DESTDIR)$(systemdsystemunitdir)/p11-signerd.socket'
	$(INSTALL_DATA) dist/p11-signer.tmpfiles '$(DESTDIR)$(tmpfilesdir)/p11-signer.conf'
	$(INSTALL_DATA) dist/p11-signer.sysusers '$(DESTDIR)$(sysusersdir)/p11-signer.conf'
	@if test -f '$(DESTDIR)$(confdir)/signer.conf'; then \
		echo "$(DESTDIR)$(confdir)/signer.conf exists: left as it is (example: dist/signer.conf)"; \
	else \
		echo " $(INSTALL_DATA) dist/signer.conf '$(DESTDIR)$(confdir)/signer.conf'"; \
		$(INSTALL_DATA) dist/signer.conf '$(DESTDIR)$(confdir)/signer.conf'; \
	fi

uninstall-local:
	rm -f '$(DESTDIR)$(systemdsystemunitdir)/p11-signerd.service' \
		'$(DESTDIR)$(systemdsystemunitdir)/p11-signerd.socket' \
		'$(DESTDIR)$(tmpfilesdir)/p11-signer.conf' \
		'$(DESTDIR)$(sysusersdir)/p11-signer.conf'
	@if test -f '$(DESTDIR)$(confdir)/signer.conf' && \
	    cmp -s dist/signer.conf '$(DESTDIR)$(confdir)/signer.conf'; then \
		echo " rm -f '$(DESTDIR)$(confdir)/signer.conf'"; \
		rm -f '$(DESTDIR)$(confdir)/signer.conf'; \
	fi
	-rmdir '$(DESTDIR)$(confdir)' '$(DESTDIR)$(rundir)' '$(DESTDIR)$(statedir)' 2>/dev/null
EXTRA_DIST += dist/prometheus/p11-signer.rules.yml
