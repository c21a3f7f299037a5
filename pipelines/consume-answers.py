#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A consumer of the fleet's answers: subscribes to an MQTT topic filter and
prints every answer instructblippublish sends, one line each.

  pipelines/consume-answers.py HOST:PORT [TOPIC_FILTER] [--count N]
                               [--timeout S] [--json]

TOPIC_FILTER defaults to "fleet/#" (every machine's topic). Plain MQTT
3.1.1 over a socket, standard library only (no client package needed),
QoS 0 subscription. Stops after --count answers or --timeout seconds
without one; the exit status is 0 when at least one answer came."""
import argparse
import json
import socket
import struct
import sys


def encode_len(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def packet(kind, body):
    return bytes([kind]) + encode_len(len(body)) + body


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("the broker closed the connection")
        buf += chunk
    return buf


def read_packet(sock):
    head = read_exact(sock, 1)[0]
    n, shift = 0, 0
    while True:
        b = read_exact(sock, 1)[0]
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            break
    return head, read_exact(sock, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("address", help="broker host:port")
    ap.add_argument("topic", nargs="?", default="fleet/#")
    ap.add_argument("--count", type=int, default=0, help="stop after N")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--json", action="store_true", help="print raw JSON")
    args = ap.parse_args()
    host, _, port = args.address.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    # CONNECT: protocol "MQTT" level 4, clean session, keepalive 60 s
    sock.sendall(packet(0x10, utf8("MQTT") + bytes([4, 0x02]) +
                        struct.pack("!H", 60) + utf8("fleet-consumer")))
    head, body = read_packet(sock)
    if head >> 4 != 2 or body[1] != 0:
        sys.exit(f"the broker refused the connection ({body!r})")
    sock.sendall(packet(0x82, struct.pack("!H", 1) + utf8(args.topic) +
                        bytes([0])))
    sock.settimeout(args.timeout)
    seen = 0
    try:
        while not args.count or seen < args.count:
            head, body = read_packet(sock)
            if head >> 4 != 3:  # only PUBLISH matters (SUBACK, PINGRESP)
                continue
            tlen = struct.unpack("!H", body[:2])[0]
            topic = body[2:2 + tlen].decode()
            off = 2 + tlen + (2 if (head >> 1) & 3 else 0)
            payload = body[off:].decode()
            seen += 1
            if args.json:
                print(payload, flush=True)
                continue
            o = json.loads(payload)
            print(f"{topic} {o['source-id']}/{o['element']} "
                  f"#{o['request-id']}: {o['instruction']!r} -> "
                  f"{o['answer']!r} ({o['latency'] / 1e6:.0f} ms)",
                  flush=True)
    except socket.timeout:
        pass
    sock.sendall(packet(0xE0, b""))  # DISCONNECT
    sock.close()
    sys.exit(0 if seen else 1)


if __name__ == "__main__":
    main()
