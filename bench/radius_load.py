"""RADIUS load generator for bench/radius: CONCURRENCY clients, each with its own UDP socket,
send Access-Requests (PAP, Message-Authenticator first, as RFC 3579 and BlastRADIUS want) one
after another for SECONDS: half with the user's current passcode, half with a wrong one, cycling
through the users of SETUP.json. Prints one JSON line: requests/s, p50/p99 (ms), replies by code,
timeouts.

Written with the standard library only (hashlib, hmac, asyncio) so the client costs little beside
the server on a 2-core machine; every reply's Response Authenticator is checked.

Usage: python3 bench/radius_load.py SETUP.json PORT SECRET append|factor CONCURRENCY SECONDS [SOURCE_IP]
  append  User-Password is "<password>,<passcode>" (Twofold checks the password: argon2id)
  factor  User-Password is the passcode alone (second-factor-only mode)
"""

import asyncio, hashlib, hmac, json, multiprocessing, os, struct, sys, time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from totp import totp  # noqa: E402

SETUP, PORT, SECRET, MODE = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
CONCURRENCY, SECONDS = int(sys.argv[5]), float(sys.argv[6])
SOURCE = sys.argv[7] if len(sys.argv) > 7 else "127.0.0.1"
PASSWORD = "benchmark passphrase 1"
setup = json.load(open(SETUP))
USERS = sorted(setup["seeds"].items())


def attr(kind, value):
    return bytes([kind, len(value) + 2]) + value


def hide(password, authenticator):
    padded = password + b"\0" * (-len(password) % 16 or (16 if not password else 0))
    out, last = b"", authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(SECRET + last).digest()
        block = bytes(a ^ b for a, b in zip(padded[i:i + 16], key))
        out, last = out + block, block
    return out


def request(identifier, n):
    name, seed = USERS[(n // 2) % len(USERS)]
    code = "000000" if n % 2 else totp(seed)
    typed = f"{PASSWORD},{code}" if MODE == "append" else code
    authenticator = os.urandom(16)
    attrs = attr(1, name.encode()) + attr(2, hide(typed.encode(), authenticator)) + attr(32, b"bench")
    ma = attr(80, b"\0" * 16)
    length = 20 + len(ma) + len(attrs)
    head = struct.pack("!BBH", 1, identifier, length) + authenticator
    digest = hmac.new(SECRET, head + ma + attrs, hashlib.md5).digest()
    return head + attr(80, digest) + attrs, authenticator


def valid(reply, authenticator):
    if len(reply) < 20:
        return False
    expected = hashlib.md5(reply[:4] + authenticator + reply[20:] + SECRET).digest()
    return hmac.compare_digest(expected, reply[4:20])


class Endpoint(asyncio.DatagramProtocol):
    def __init__(self):
        self.waiting = None

    def datagram_received(self, data, addr):
        if self.waiting and not self.waiting.done():
            self.waiting.set_result(data)


async def worker(index, deadline, latencies, codes, counter):
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(Endpoint, local_addr=(SOURCE, 0),
                                                           remote_addr=("127.0.0.1", PORT))
    identifier = 0
    try:
        while time.monotonic() < deadline:
            n = counter[0]
            counter[0] += 1
            identifier = (identifier + 1) & 0xFF
            packet, authenticator = request(identifier, n)
            proto.waiting = loop.create_future()
            started = time.monotonic()
            transport.sendto(packet)
            try:
                reply = await asyncio.wait_for(proto.waiting, 5)
            except asyncio.TimeoutError:
                codes["timeout"] = codes.get("timeout", 0) + 1
                continue
            latencies.append(time.monotonic() - started)
            key = {2: "accept", 3: "reject", 11: "challenge"}.get(reply[0], str(reply[0]))
            if not valid(reply, authenticator):
                key = "bad_reply"
            codes[key] = codes.get(key, 0) + 1
    finally:
        transport.close()


async def run(workers, offset):
    latencies, codes, counter = [], {}, [offset]
    deadline = time.monotonic() + SECONDS
    await asyncio.gather(*(worker(i, deadline, latencies, codes, counter) for i in range(workers)))
    return latencies, codes


def process(args):
    workers, offset = args
    return asyncio.run(run(workers, offset))


def main():
    # Two client processes from concurrency 8 up: one Python process cannot keep 32 requests in
    # flight as fast as the server answers them (it would measure itself).
    procs = 2 if CONCURRENCY >= 8 else 1
    shares = [CONCURRENCY // procs + (1 if i < CONCURRENCY % procs else 0) for i in range(procs)]
    started = time.monotonic()
    with multiprocessing.Pool(procs) as pool:
        results = pool.map(process, [(n, i * 1_000_000) for i, n in enumerate(shares)])
    elapsed = time.monotonic() - started
    latencies, codes = [], {}
    for lat, c in results:
        latencies += lat
        for k, v in c.items():
            codes[k] = codes.get(k, 0) + v
    latencies.sort()
    pick = lambda q: round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2) if latencies else None
    print(json.dumps({"requests": len(latencies), "rps": round(len(latencies) / elapsed),
                      "p50_ms": pick(0.50), "p99_ms": pick(0.99), "codes": codes}))


if __name__ == "__main__":
    main()
