"""Push round trip: from the phone's signed approval to the waiting prompt's response.

Each worker is one user: a browser signed in with the password (at the prompt) on instance A, and
the user's phone (the Twofold authenticator's key from setup.py --push) talking to PHONE_BASE (A
for one instance, B for two). One iteration: "Send Me a Push" on A, read the number on the page,
start the page's long-poll (`GET /prompt/push/{id}/status`) on A, the phone lists its pending
requests (signed) and finds the request, then posts its signed approval with the number. The time
measured is from just before the approval is written to the socket until the long-poll's response
has been read (one process, one monotonic clock). The approval's own response time is reported too.

Usage: python3 bench/push_rtt.py SETUP.json BASE_A PHONE_BASE ITERATIONS CONCURRENCY LABEL
"""

import asyncio, json, sys, time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from aio import Conn, HttpError, percentile, send_push, sign_in  # noqa: E402
from phone import Phone  # noqa: E402

SETUP, BASE, PHONE_BASE, ITERATIONS, CONCURRENCY, LABEL = sys.argv[1:7]
ITERATIONS, CONCURRENCY = int(ITERATIONS), int(CONCURRENCY)
PASSWORD = "benchmark passphrase 1"
WARM_UP = 2  # per worker, not counted: first connections, caches


async def timed_response(conn):
    r = await conn.response()
    return r, time.perf_counter()


async def worker(name, phone, count, results, answers, errors):
    cookie, token = await asyncio.to_thread(sign_in, BASE, name, PASSWORD)
    browser, poll, device = Conn(BASE, cookie), Conn(BASE, cookie), Conn(PHONE_BASE)
    for i in range(count + WARM_UP):
        try:
            request_id, number = await send_push(browser, token)
            await poll.send("GET", f"/prompt/push/{request_id}/status", headers=[("Accept", "application/json")])
            waiting = asyncio.create_task(timed_response(poll))
            status, listed = await device.post_json("/device/v1/pending", phone.pending_body())
            if status != 200 or request_id not in [r["id"] for r in listed["requests"]]:
                raise HttpError(f"pending: {status} {listed}")
            await asyncio.sleep(0.02)  # the long-poll is surely waiting by now
            if waiting.done():
                raise HttpError(f"the long-poll answered before the approval: {waiting.result()[0]}")
            body = json.dumps(phone.answer_body(request_id, "approve", number)).encode()
            sent = time.perf_counter()
            status, _, answer = await device.request("POST", "/device/v1/answer", body, "application/json")
            answered = time.perf_counter()
            (poll_status, _, poll_body), woken = await waiting
            if status != 200 or json.loads(answer)["status"] != "approved":
                raise HttpError(f"answer: {status} {answer[:200]!r}")
            if poll_status != 200 or json.loads(poll_body)["status"] != "approved":
                raise HttpError(f"long-poll: {poll_status} {poll_body[:200]!r}")
            if i >= WARM_UP:
                results.append(woken - sent)
                answers.append(answered - sent)
        except (HttpError, OSError, asyncio.IncompleteReadError, ValueError, KeyError) as e:
            errors.append(f"{name}: {e}")
            for c in (browser, poll, device):
                c.close()


async def main():
    setup = json.load(open(SETUP))
    names = sorted(setup["phones"])
    if len(names) < CONCURRENCY:
        sys.exit(f"need at least {CONCURRENCY} users enrolled with the app, have {len(names)}")
    results, answers, errors = [], [], []
    per = [ITERATIONS // CONCURRENCY + (1 if w < ITERATIONS % CONCURRENCY else 0) for w in range(CONCURRENCY)]
    started = time.perf_counter()
    await asyncio.gather(*(worker(names[w], Phone.load(setup["phones"][names[w]]), per[w], results, answers, errors)
                           for w in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    for e in errors[:5]:
        print("error:", e, file=sys.stderr)
    ms = lambda v: f"{v * 1000:.2f} ms"
    for what, values in ((f"push round trip ({LABEL})", results), (f"approval's own response ({LABEL})", answers)):
        v = sorted(values)
        print(f"| {what} | {CONCURRENCY} | {len(v)} | {ms(percentile(v, 50))} | {ms(percentile(v, 90))} | "
              f"{ms(percentile(v, 99))} | {ms(v[-1]) if v else '-'} | {len(errors)} |")
    print(f"({len(results)} round trips in {elapsed:.1f} s, including the push, the page and the phone's listing)",
          file=sys.stderr)
    sys.exit(1 if errors or not results else 0)


asyncio.run(main())
