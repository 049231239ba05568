"""Fake harness executables shared by the unit, integration and e2e tests."""
