"""The TCP and UDP sockets of a set of processes, read from /proc (no tool needed).

A process's sockets are the ``socket:[inode]`` entries of /proc/<pid>/fd; their addresses
come from /proc/net/{tcp,tcp6,udp,udp6}, which list every socket of the (shared) network
namespace. Used to check that the local cluster only ever listens on, and talks to, 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

LISTEN = "0A"  # TCP state in /proc/net/tcp
UDP_CLOSE = "07"  # an unconnected UDP socket


@dataclass(frozen=True)
class Socket:
    pid: int
    protocol: str
    local: tuple[str, int]
    remote: tuple[str, int]
    state: str

    @property
    def listening(self) -> bool:
        return self.protocol.startswith("tcp") and self.state == LISTEN

    @property
    def connected(self) -> bool:
        return self.remote[1] != 0

    def __str__(self) -> str:
        (local, local_port), (remote, remote_port) = self.local, self.remote
        return f"pid {self.pid} {self.protocol} {local}:{local_port} -> {remote}:{remote_port}"


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        address = socket.inet_ntop(socket.AF_INET, struct.pack("<I", int(host, 16)))
    else:  # IPv6: four little-endian 32-bit words
        words = struct.unpack("<4I", raw)
        address = socket.inet_ntop(socket.AF_INET6, struct.pack(">4I", *words))
    return address, int(port, 16)


def _socket_table() -> dict[int, tuple[str, tuple[str, int], tuple[str, int], str]]:
    table = {}
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        path = Path("/proc/net") / protocol
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            table[int(fields[9])] = (protocol, _address(fields[1]), _address(fields[2]), fields[3])
    return table


def sockets_of(pids: set[int]) -> list[Socket]:
    table = _socket_table()
    found = []
    for pid in pids:
        fd_dir = Path(f"/proc/{pid}/fd")
        with contextlib.suppress(OSError):
            for fd in os.listdir(fd_dir):
                with contextlib.suppress(OSError):
                    target = os.readlink(fd_dir / fd)
                    if target.startswith("socket:["):
                        inode = int(target[8:-1])
                        if inode in table:
                            found.append(Socket(pid, *table[inode]))
    return found


def is_loopback(address: str) -> bool:
    parsed = ipaddress.ip_address(address)
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped
    return parsed.is_loopback
