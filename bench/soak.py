"""A bounded soak against a running Twofold: a steady, rate-limited mix for DURATION seconds of
  - Auth API `auth` factor=passcode (signed by duo_client): a user's current code when that user
    has not used this 30-second step yet (expected "allow"), else a wrong code (expected "deny");
  - full browser sign-ins: GET /login, POST the password, GET /prompt, POST the passcode, GET
    and POST "Trust this browser?" (don't): 303 to /prompt, /prompt/trust, /settings; each with
    its own cookie jar (6 requests and one argon2 hash);
  - "My Settings & Devices" page views with the cookie of a recent sign-in (expected 200).
Pushes are not driven (the bench users have no activated push app; a push round trip is measured
separately). Every INTERVAL seconds prints elapsed, requests and errors per kind, p99 per kind,
the server's RSS and open file descriptors; at the end a summary row. Exits 1 on any error or
when RSS grew more than 20% from the middle of the run to its end.

The users from bench/setup.py are split: the first half sign in through the browser, the second
half are the Auth API's; a user is given a right code at most once per 30-second step (single use).

Usage: python3 bench/soak.py SETUP.json BASE_URL SERVER_PID [DURATION] [INTERVAL] [API/s] [SIGNINS/s] [SETTINGS/s]
"""

import collections, concurrent.futures, email.utils, json, os, re, sys, threading, time

import duo_client.client as duo
import requests

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from totp import totp  # noqa: E402

args = sys.argv[1:]
SETUP, BASE, PID = json.load(open(args[0])), args[1], int(args[2])
DURATION, INTERVAL = float(args[3]) if len(args) > 3 else 600, float(args[4]) if len(args) > 4 else 10
RATES = {"api": float(args[5]) if len(args) > 5 else 50, "signin": float(args[6]) if len(args) > 6 else 2,
         "settings": float(args[7]) if len(args) > 7 else 20}
PASSWORD = "benchmark passphrase 1"
names = sorted(SETUP["seeds"])
POOLS = {"signin": names[: len(names) // 2], "api": names[len(names) // 2:]}
# A user's last 30-second step given a right code: enrolment used the step set-up ended in (main()
# waits for the next one), and bench/setup.py signed its settings browser in with the next code.
last_step = {n: int(os.path.getmtime(args[0]) // 30) for n in names}
last_step[names[1]] += 1
claim_lock = threading.Lock()
cursor = collections.Counter()


def claim(pool):
    """A user of `pool` whose code for the current step is still unused, or None."""
    step = int(time.time() // 30)
    with claim_lock:
        users = POOLS[pool]
        for _ in range(len(users)):
            name = users[cursor[pool] % len(users)]
            cursor[pool] += 1
            if last_step[name] < step:
                last_step[name] = step
                return name, totp(SETUP["seeds"][name])
    return None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.total, self.errors, self.window = collections.Counter(), collections.Counter(), collections.defaultdict(list)
        self.seen_errors = []

    def add(self, kind, seconds, error=None):
        with self.lock:
            self.total[kind] += 1
            self.window[kind].append(seconds)
            if error:
                self.errors[kind] += 1
                if self.errors[kind] <= 3:
                    self.seen_errors.append(f"{kind}: {error}")

    def take_window(self):
        with self.lock:
            w, self.window = self.window, collections.defaultdict(list)
        return w


stats = Stats()
local = threading.local()
signed_in = collections.deque(maxlen=50)  # Cookie headers of recent sign-ins, for settings views.


def http():
    if not hasattr(local, "s"):
        local.s = requests.Session()
    return local.s


def api_passcode():
    claimed = claim("api")
    name, code = claimed if claimed else (POOLS["api"][int(time.time() * 1000) % len(POOLS["api"])], "000000")
    expect = "allow" if claimed else "deny"
    params = {"username": [name], "factor": ["passcode"], "passcode": [code]}
    date = email.utils.formatdate(localtime=False)
    auth = duo.sign(SETUP["ikey"], SETUP["skey"], "POST", SETUP["host"], "/auth/v2/auth", date, 2, params)
    r = http().post(BASE + "/auth/v2/auth", data=duo.canon_params(params), timeout=30,
                    headers={"Authorization": auth, "Date": date, "Content-Type": "application/x-www-form-urlencoded"})
    result = r.json().get("response", {}).get("result") if r.status_code == 200 else None
    if result != expect:
        return f"{name} {expect}: HTTP {r.status_code} {r.text[:200]}"


def csrf(html):
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    return m.group(1) if m else ""


def signin():
    claimed = claim("signin")
    if not claimed:
        return "no sign-in user with an unused code this step (lower the sign-in rate or add users)"
    name, code = claimed
    s = requests.Session()
    r = s.get(BASE + "/login", timeout=30)
    r = s.post(BASE + "/login", data={"csrf_token": csrf(r.text), "username": name, "password": PASSWORD},
               allow_redirects=False, timeout=30)
    if r.status_code != 303 or r.headers.get("location") != "/prompt":
        return f"{name} password: HTTP {r.status_code} {r.headers.get('location')}"
    r = s.get(BASE + "/prompt", timeout=30)
    r = s.post(BASE + "/prompt/passcode", data={"csrf_token": csrf(r.text), "passcode": code},
               allow_redirects=False, timeout=30)
    if r.status_code != 303 or r.headers.get("location") != "/prompt/trust":
        return f"{name} passcode: HTTP {r.status_code} {r.headers.get('location')} {r.text[:200]}"
    r = s.get(BASE + "/prompt/trust", timeout=30)
    r = s.post(BASE + "/prompt/trust", data={"csrf_token": csrf(r.text), "choice": "dont"}, allow_redirects=False,
               timeout=30)
    if r.status_code != 303 or r.headers.get("location") != "/settings":
        return f"{name} trust: HTTP {r.status_code} {r.headers.get('location')}"
    signed_in.append("; ".join(f"{c.name}={c.value}" for c in s.cookies))


def settings():
    cookie = signed_in[-1 - int(time.time() * 1000) % len(signed_in)] if signed_in else SETUP["settings_cookie"]
    r = http().get(BASE + "/settings", headers={"Cookie": cookie}, allow_redirects=False, timeout=30)
    if r.status_code != 200:
        return f"HTTP {r.status_code} {r.headers.get('location')}"


KINDS = {"api": api_passcode, "signin": signin, "settings": settings}


def timed(kind):
    started = time.monotonic()
    try:
        error = KINDS[kind]()
    except Exception as e:  # a refused connection, a timeout, a page without the expected form
        error = repr(e)[:200]
    stats.add(kind, time.monotonic() - started, error)


def drive(kind, pool, stop_at):
    """Starts one `kind` request every 1/rate seconds (open loop: a slow server gets no breather)."""
    period, due = 1 / RATES[kind], time.monotonic()
    while due < stop_at:
        pool.submit(timed, kind)
        due += period
        time.sleep(max(0.0, due - time.monotonic()))


def server():
    rss = int(open(f"/proc/{PID}/status").read().split("VmRSS:")[1].split()[0]) // 1024
    return rss, len(os.listdir(f"/proc/{PID}/fd"))


def p99(values):
    return f"{sorted(values)[int(len(values) * 0.99)] * 1000:.0f}" if values else "-"


def main():
    kinds = [k for k in KINDS if RATES[k] > 0]
    ready = (min(last_step.values()) + 1) * 30
    if time.time() < ready:
        print(f"waiting {ready - time.time():.0f} s for a 30-second step no enrolment used")
        time.sleep(ready - time.time())
    start = time.monotonic()
    stop_at = start + DURATION
    rss_start, fds_start = server()
    rss_mid = None
    print(f"soak: {DURATION:.0f} s at {' + '.join(f'{RATES[k]:g} {k}/s' for k in kinds)}; "
          f"server RSS {rss_start} MB, {fds_start} fds")
    print("| elapsed s | " + " | ".join(f"{k} n (errors) | {k} p99 ms" for k in kinds) + " | RSS MB | fds |")
    print("|---" * (2 + 2 * len(kinds)) + "|")
    pool = concurrent.futures.ThreadPoolExecutor(32)
    drivers = [threading.Thread(target=drive, args=(k, pool, stop_at), daemon=True) for k in kinds]
    for d in drivers:
        d.start()
    next_print, previous, previous_errors = start + INTERVAL, collections.Counter(), collections.Counter()
    while any(d.is_alive() for d in drivers):
        time.sleep(max(0.0, min(next_print, stop_at) - time.monotonic()))
        now = time.monotonic()
        if now >= start + DURATION / 2 and rss_mid is None:
            rss_mid = server()[0]
        if now >= next_print or now >= stop_at:
            w, (rss, fds) = stats.take_window(), server()
            cells = [f"{stats.total[k] - previous[k]} ({stats.errors[k] - previous_errors[k]}) | {p99(w[k])}" for k in kinds]
            print(f"| {now - start:.0f} | " + " | ".join(cells) + f" | {rss} | {fds} |", flush=True)
            previous, previous_errors = stats.total.copy(), stats.errors.copy()
            next_print += INTERVAL
        if now >= stop_at:
            break
    pool.shutdown(wait=True)
    rss_end, fds_end = server()
    rss_mid = rss_mid or rss_end
    # HTTP requests: a sign-in is 6 of them.
    total = sum(n * (6 if k == "signin" else 1) for k, n in stats.total.items())
    errors = sum(stats.errors.values())
    flat = rss_end <= rss_mid * 1.2
    print()
    print("| soak | seconds | HTTP requests | requests/s | " + " | ".join(f"{k}" for k in kinds)
          + " | errors | RSS start / middle / end MB | fds start / end |")
    print("|---" * (7 + len(kinds)) + "|")
    print(f"| {os.environ.get('SOAK_DB', '')} | {DURATION:.0f} | {total} | {total / DURATION:.1f} | "
          + " | ".join(str(stats.total[k]) for k in kinds)
          + f" | {errors} | {rss_start} / {rss_mid} / {rss_end} ({'flat' if flat else 'GREW'}) | {fds_start} / {fds_end} |")
    for e in stats.seen_errors:
        print("error:", e)
    sys.exit(0 if errors == 0 and flat else 1)


main()
