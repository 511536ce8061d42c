"""Waiting prompts: N long-polls held open on one instance, really waiting on the server.

Each waiter is the prompt page's push wait, `GET /prompt/push/{id}/status`, for its own pending
push: USERS browsers signed in with the password (at the prompt) send N pushes between them
("Send Me a Push", the cap raised by the environment), then N connections each long-poll one push
and, like static/push.js, ask again at once when the server answers "pending" (after its 20 to 25 s).
While they are held (HOLD seconds) the server's RSS (ps -o rss), its open descriptors and, on
PostgreSQL, its database connections are sampled each second, and a probe (the phone listing its
pending pushes: a signed request with database reads) checks that the server still answers
quickly. Then every phone denies its pushes (signed, CONCURRENCY at a time) and each long-poll
must answer "denied". Errors: non-200s, connection errors, any answer other than "pending" before
the denials, or "pending" before the server's 20 s (25 s less up to 5 s of jitter).

Usage: python3 bench/waiting.py SETUP.json BASE SERVER_PID N HOLD_SECONDS LABEL [PG_DATABASE_URL]
"""

import asyncio, json, os, subprocess, sys, time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from aio import Conn, HttpError, percentile, sign_in  # noqa: E402
from phone import Phone  # noqa: E402

SETUP, BASE, PID, N, HOLD, LABEL = sys.argv[1:7]
PGURL = sys.argv[7] if len(sys.argv) > 7 else ""
N, HOLD = int(N), float(HOLD)
PASSWORD = "benchmark passphrase 1"
LONG_POLL = 20.0  # src/web/prompt/push.rs: LONG_POLL less LONG_POLL_JITTER, the shortest wait
OPENING = 200  # connections being opened at once
CONCURRENCY = 32  # pushes sent / denials at once


class Stats:
    def __init__(self):
        self.errors, self.early, self.renewed, self.open = [], 0, 0, 0
        self.denying = False
        self.sent = {}  # request id -> when its denial was sent
        self.woken = []  # seconds from each denial being sent to its long-poll's "denied"


def rss_mb():
    return int(subprocess.run(["ps", "-o", "rss=", "-p", PID], capture_output=True, text=True).stdout) / 1024


def cpu_seconds():
    fields = open(f"/proc/{PID}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def fds():
    return len(os.listdir(f"/proc/{PID}/fd"))


def pg_connections():
    if not PGURL:
        return None
    name = PGURL.rsplit("/", 1)[1]
    q = f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'"
    out = subprocess.run(["psql", PGURL.rsplit("/", 1)[0] + "/postgres", "-Atc", q], capture_output=True, text=True)
    return int(out.stdout.strip() or -1)


async def send_pushes(users, n, stats):
    """n pushes spread over the users: [(user, request id)]."""
    queue = [users[i % len(users)] for i in range(n)]
    made = []

    async def sender():
        c = Conn(BASE)
        while queue:
            u = queue.pop()
            for attempt in (1, 2):
                c.cookie = u["cookie"]
                try:
                    status, headers, body = await c.post_form("/prompt/push", {"csrf_token": u["token"]})
                    to = headers.get("location", "")
                    if status != 303 or not to.startswith("/prompt/push/"):
                        raise HttpError(f"Send Me a Push: {status} {to} {body[:200]!r}")
                    made.append((u, to.rsplit("/", 1)[1]))
                    break
                except asyncio.IncompleteReadError as e:
                    c.close()  # a keep-alive connection the server had closed: once more, as browsers do
                    if attempt == 2 or e.partial:
                        stats.errors.append(f"push: {e}")
                except (HttpError, OSError) as e:
                    stats.errors.append(f"push: {e}")
                    c.close()
                    break
        c.close()

    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return made


async def waiter(user, request_id, gate, stats):
    conn = Conn(BASE, user["cookie"])
    try:
        async with gate:
            await conn.open()
            await conn.send("GET", f"/prompt/push/{request_id}/status", headers=[("Accept", "application/json")])
        stats.open += 1
        asked = time.monotonic()
        while True:
            status, _, body = await conn.response()
            if status != 200:
                raise HttpError(f"status {status} {body[:200]!r}")
            answer = json.loads(body)["status"]
            if answer == "pending" and not stats.denying:
                if time.monotonic() - asked < LONG_POLL - 1:
                    stats.early += 1
                stats.renewed += 1
            elif answer == "denied" and stats.denying:
                stats.woken.append(time.monotonic() - stats.sent.get(request_id, stats.denying))
                return
            elif answer != "pending":
                stats.early += 1
                return
            asked = time.monotonic()
            await conn.send("GET", f"/prompt/push/{request_id}/status", headers=[("Accept", "application/json")])
    except (HttpError, OSError, asyncio.IncompleteReadError, ValueError) as e:
        stats.errors.append(f"wait: {type(e).__name__} {e}")
    finally:
        stats.open -= 1
        conn.close()


async def probe(phone, conn):
    started = time.perf_counter()
    status, _ = await conn.post_json("/device/v1/pending", phone.pending_body())
    if status != 200:
        raise HttpError(f"probe: {status}")
    return time.perf_counter() - started


async def deny_all(made, stats):
    queue = list(made)
    stats.denying = time.monotonic()

    async def denier():
        conn = Conn(BASE)
        while queue:
            u, request_id = queue.pop()
            body = u["phone"].answer_body(request_id, "deny")
            stats.sent[request_id] = time.monotonic()
            try:
                status, body = await conn.post_json("/device/v1/answer", body)
                if status != 200:
                    raise HttpError(f"deny: {status} {body}")
            except (HttpError, OSError, asyncio.IncompleteReadError) as e:
                stats.errors.append(str(e))
                conn.close()
        conn.close()

    await asyncio.gather(*(denier() for _ in range(CONCURRENCY)))
    return time.monotonic() - stats.denying


async def main():
    setup = json.load(open(SETUP))
    stats = Stats()
    idle = rss_mb()
    users = []
    for name in sorted(setup["phones"]):
        cookie, token = await asyncio.to_thread(sign_in, BASE, name, PASSWORD)
        users.append({"name": name, "cookie": cookie, "token": token, "phone": Phone.load(setup["phones"][name])})
    started = time.monotonic()
    made = await send_pushes(users, N, stats)
    pushed = time.monotonic() - started
    before = rss_mb()
    gate = asyncio.Semaphore(OPENING)
    started = time.monotonic()
    tasks = [asyncio.create_task(waiter(u, rid, gate, stats)) for u, rid in made]
    while stats.open < len(made) and not all(t.done() for t in tasks):
        await asyncio.sleep(0.1)
    opened = time.monotonic() - started
    samples, probes, conns = [], [], []
    probe_conn = Conn(BASE)
    held_from, cpu_from = time.monotonic(), cpu_seconds()
    while time.monotonic() - held_from < HOLD:
        await asyncio.sleep(1)
        samples.append((rss_mb(), fds(), stats.open))
        try:
            probes.append(await probe(users[0]["phone"], probe_conn))
        except (HttpError, OSError, asyncio.IncompleteReadError) as e:
            stats.errors.append(str(e))
            probe_conn.close()
        if PGURL:
            conns.append(pg_connections())
    held = min(s[2] for s in samples) if samples else 0
    cpu = (cpu_seconds() - cpu_from) / (time.monotonic() - held_from)
    denied_in = await deny_all(made, stats)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    after = rss_mb()
    for e in stats.errors[:5]:
        print("error:", e, file=sys.stderr)
    woken, probes = sorted(stats.woken), sorted(probes)
    max_rss = max(s[0] for s in samples) if samples else float("nan")
    ms = lambda v: f"{v * 1000:.1f} ms"
    errors = len(stats.errors) + stats.early + (len(made) - len(woken))
    print(f"| waiting prompts ({LABEL}) | {N} | {held} | {idle:.0f} MB | {before:.0f} MB | {max_rss:.0f} MB | {after:.0f} MB | "
          f"{max(s[1] for s in samples) if samples else '-'} | {ms(percentile(probes, 50))} / {ms(probes[-1] if probes else 0)} | "
          f"{denied_in:.1f} s | {ms(percentile(woken, 50))} / {ms(percentile(woken, 99))} | {errors} |")
    print(f"\npushes sent in {pushed:.1f} s; {len(made)} long-polls opened in {opened:.1f} s, held {HOLD:.0f} s "
          f"(fewest open while held: {held}; server CPU meanwhile {cpu:.0%} of a core), renewed after the server's 20–25 s: {stats.renewed}; "
          f"errors {len(stats.errors)}, early answers {stats.early}, not woken {len(made) - len(woken)}; "
          f"RSS while held (MB): {[round(s[0]) for s in samples]}"
          + (f"; database connections while held: {sorted(set(conns))}" if PGURL else ""), file=sys.stderr)
    sys.exit(1 if errors else 0)


asyncio.run(main())
