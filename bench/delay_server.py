#!/usr/bin/python3
"""A tiny HTTP/1.1 server for make bench: every GET is answered with the same body after a fixed
latency, optionally under an exact sliding-window rate limit (429 beyond it). It is what a fast API
server with a network between looks like: the latency is the only cost, so a floor counted in
latencies is the physical limit (bench/README.md). nginx-light has no way to delay an answer.

    python3 bench/delay_server.py --port-file F --body FILE --latency-ms 50 [--rate 50/1s]

GET /_stats answers the counts as JSON (requests, max_concurrent, connections, status_429) and
GET /_reset clears them and the rate window; GET /_arrivals answers each counted request's arrival
and answer times (seconds on the server's monotonic clock) and path, to see where a run's time
went (bench/run.py --timeline); none of these is delayed or counted. Loopback only. Python
standard library only (asyncio: thousands of waiting requests cost no threads).
"""
import argparse
import asyncio
import collections
import json
import re
import time


class State:
    def __init__(self, rate):
        self.rate = rate  # (N, W seconds) or None
        self.reset()

    def reset(self):
        self.requests = self.connections = self.in_flight = self.max_concurrent = 0
        self.status_429 = 0
        self.admitted = collections.deque()  # arrival times of admitted requests in the window
        self.arrivals = []  # [arrival, answer, status, path] of every counted request

    def admit(self, now):
        if not self.rate:
            return True
        limit, window = self.rate
        while self.admitted and self.admitted[0] <= now - window:
            self.admitted.popleft()
        if len(self.admitted) >= limit:
            return False
        self.admitted.append(now)
        return True

    def stats(self):
        return {"requests": self.requests, "max_concurrent": self.max_concurrent,
                "connections": self.connections, "status_429": self.status_429}


def response(status, reason, body, extra=""):
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n")
    return head.encode() + body


async def serve(reader, writer, state, body, latency):
    state.connections += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            target = head.split(b" ", 2)[1].decode("latin-1")
            if target == "/_stats":
                writer.write(response(200, "OK", json.dumps(state.stats()).encode()))
            elif target == "/_arrivals":
                writer.write(response(200, "OK", json.dumps(state.arrivals).encode()))
            elif target == "/_reset":
                state.reset()
                writer.write(response(200, "OK", b"{}"))
            else:
                state.requests += 1
                arrived = time.monotonic()
                admitted = state.admit(arrived)
                state.in_flight += 1
                state.max_concurrent = max(state.max_concurrent, state.in_flight)
                try:
                    await asyncio.sleep(latency)
                finally:
                    state.in_flight -= 1
                state.arrivals.append([arrived, time.monotonic(), 200 if admitted else 429, target])
                if admitted:
                    writer.write(response(200, "OK", body))
                else:
                    state.status_429 += 1
                    writer.write(response(429, "Too Many Requests",
                                          b'{"message":"rate limit exceeded"}', "Retry-After: 1\r\n"))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


def parse_rate(text):
    match = re.fullmatch(r"(\d+)/(\d+(?:\.\d+)?)s", text)
    if not match:
        raise argparse.ArgumentTypeError("give the rate as N/Ws, e.g. 50/1s")
    return int(match.group(1)), float(match.group(2))


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--body", required=True, help="the file every answer carries")
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--rate", type=parse_rate)
    args = parser.parse_args()
    with open(args.body, "rb") as handle:
        body = handle.read()
    state = State(args.rate)
    server = await asyncio.start_server(
        lambda r, w: serve(r, w, state, body, args.latency_ms / 1000), "127.0.0.1", 0,
        backlog=4096)
    with open(args.port_file, "w", encoding="utf-8") as handle:
        handle.write(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
