"""The security tests serve the Slack endpoint as the fault tests do."""

from tests.faults.conftest import server  # noqa: F401  (a fixture, shared)
