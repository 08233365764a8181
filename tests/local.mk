# Test harness shared by every fragment.
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
