# hsm/: owned by the hsm work; see hsm/hsm.h.
