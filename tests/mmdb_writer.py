"""A minimal MaxMind DB (format 2.0) writer, so the maxminddb resolver meets a real file.

Just enough of the spec (maxmind.github.io/MaxMind-DB): an IPv6 search tree
with 24-bit records (IPv4 networks under ::/96), and a data section of maps,
UTF-8 strings and unsigned integers.
"""

from __future__ import annotations

import ipaddress
import struct
import time

_METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"


def _control(type_number: int, size: int) -> bytes:
    extended = type_number > 7
    if size < 29:
        head, tail = size, b""
    elif size < 285:
        head, tail = 29, bytes([size - 29])
    else:
        head, tail = 30, struct.pack(">H", size - 285)
    first = bytes([((0 if extended else type_number) << 5) | head])
    return first + (bytes([type_number - 7]) if extended else b"") + tail


class Unsigned(int):
    """An unsigned integer of a stated width: 16, 32 or 64 bits (type 5, 6 or 9)."""

    def __new__(cls, value: int, bits: int):
        number = super().__new__(cls, value)
        number.type_number = {16: 5, 32: 6, 64: 9}[bits]
        return number


def encode(value) -> bytes:
    """Encode VALUE in the MaxMind DB data-section format."""
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _control(2, len(raw)) + raw
    if isinstance(value, dict):
        return _control(7, len(value)) + b"".join(encode(k) + encode(v)
                                                   for k, v in value.items())
    if isinstance(value, list):
        return _control(11, len(value)) + b"".join(encode(v) for v in value)
    if isinstance(value, int):
        raw = value.to_bytes(8, "big").lstrip(b"\0")
        type_number = getattr(value, "type_number", None) or (
            5 if value < 1 << 16 else 6 if value < 1 << 32 else 9)
        return _control(type_number, len(raw)) + raw
    raise TypeError(f"cannot encode {type(value).__name__}")


def _bits(network: str) -> list[int]:
    # IPv4 networks live at ::a.b.c.d/(96 + prefix) in an IPv6 tree.
    net = ipaddress.ip_network(network)
    length = net.prefixlen + (96 if net.version == 4 else 0)
    value = int(net.network_address)
    return [(value >> (127 - i)) & 1 for i in range(length)]


def write(path, networks: dict[str, dict], database_type: str = "Test-Country") -> None:
    """Write an .mmdb at PATH mapping each network (IPv4 or IPv6 CIDR) to a record."""
    root: dict = {}
    for network, record in networks.items():
        node = root
        bits = _bits(network)
        for bit in bits[:-1]:
            node = node.setdefault(bit, {})
        node[bits[-1]] = ("data", record)
    nodes, queue = [], [root]
    while queue:
        node = queue.pop(0)
        nodes.append(node)
        queue += [child for child in (node.get(0), node.get(1)) if isinstance(child, dict)]
    index = {id(node): number for number, node in enumerate(nodes)}
    data, offsets = b"", {}
    tree = b""
    for node in nodes:
        for bit in (0, 1):
            child = node.get(bit)
            if child is None:
                record = len(nodes)
            elif isinstance(child, dict):
                record = index[id(child)]
            else:
                encoded = encode(child[1])
                if encoded not in offsets:
                    offsets[encoded] = len(data)
                    data += encoded
                record = len(nodes) + 16 + offsets[encoded]
            tree += record.to_bytes(3, "big")
    metadata = encode({"node_count": Unsigned(len(nodes), 32), "record_size": Unsigned(24, 16),
                       "ip_version": Unsigned(6, 16), "database_type": database_type,
                       "languages": ["en"], "binary_format_major_version": Unsigned(2, 16),
                       "binary_format_minor_version": Unsigned(0, 16),
                       "build_epoch": Unsigned(int(time.time()), 64),
                       "description": {"en": "test"}})
    with open(path, "wb") as handle:
        handle.write(tree + b"\0" * 16 + data + _METADATA_MARKER + metadata)
