"""A TCP proxy the test can cut, to make a database unreachable for a service: the one
`make faults` uses (open, cut, stall, close), kept in one place."""

from alooba_dev.faults.tcpproxy import TcpProxy

__all__ = ["TcpProxy"]
