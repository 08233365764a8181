# Man pages, generated with the configured paths (Makefile.am: edit_paths).
MAN_GENERATED = doc/signer.1 doc/signer.conf.5 doc/signerd.8
man_MANS += $(MAN_GENERATED)
EXTRA_DIST += doc/signer.1.in doc/signer.conf.5.in doc/signerd.8.in
CLEANFILES += $(MAN_GENERATED)

doc/signer.1: $(srcdir)/doc/signer.1.in Makefile
doc/signer.conf.5: $(srcdir)/doc/signer.conf.5.in Makefile
doc/signerd.8: $(srcdir)/doc/signerd.8.in Makefile
$(MAN_GENERATED):
	$(AM_V_GEN)$(MKDIR_P) doc && $(edit_paths) $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
EXTRA_DIST += doc/timeline-demo.svg
