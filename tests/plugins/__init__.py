"""Plugins that live in the test suite, the way a third party's would."""
