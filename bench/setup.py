"""Benchmark set-up against a running Twofold: N users, each with an authenticator app enrolled
through the real wizard (so seeds are sealed exactly as in production), and the Auth API
application's keys. Writes a JSON file the request generator reads.

With --push, each user's device is the Twofold authenticator instead, activated through the device
API with a new P-256 key as the app does; OUT.json then also holds "phones": {user: {device_id, key}}
(the key as a PKCS#8 PEM), and "seeds" holds the TOTP seeds the activations returned.

Usage: python3 bench/setup.py BASE_URL TWOFOLD_BIN USERS OUT.json [--push]   (environment as for the server)
"""

import base64, concurrent.futures, hashlib, hmac, json, re, struct, subprocess, sys, time

import requests

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from totp import totp  # noqa: E402

BASE, BIN, USERS, OUT = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
PUSH = "--push" in sys.argv[5:]
PHONES = {}
PASSWORD = "benchmark passphrase 1"


def csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def enroll(name):
    s = requests.Session()
    token = csrf(s.get(BASE + "/login").text)
    r = s.post(BASE + "/login", data={"csrf_token": token, "username": name, "password": PASSWORD},
               allow_redirects=False)
    assert r.headers.get("location") == "/prompt", (name, r.status_code, r.text[:300])
    token = csrf(s.get(BASE + "/prompt").text)
    post = lambda path, **f: s.post(BASE + path, data={"csrf_token": token, **f}, allow_redirects=False)
    post("/enroll/start")
    post("/enroll/device-type", kind="tablet")
    post("/enroll/platform", platform="android")
    post("/enroll/install", app="twofold" if PUSH else "")
    page = s.get(BASE + "/enroll/activate").text
    if PUSH:
        return name, activate_app(s, name, page)
    secret = re.search(r'id="setup-key"[^>]*>([^<]+)<', page).group(1).replace(" ", "").strip()
    r = post("/enroll/activate", passcode=totp(secret))
    assert r.headers.get("location") == "/enroll/options", (name, r.status_code)
    post("/enroll/options", name="Tablet", login_action="ask")
    return name, secret


def activate_app(s, name, page):
    """The Twofold authenticator: the link's token and a new key to /device/v1/activate, then "ask"."""
    from phone import Phone  # noqa: E402 (needs `cryptography`, only in this mode)

    token = re.search(r"#activate=([A-Za-z0-9_-]+)", page).group(1)
    phone = Phone.new()
    r = requests.post(BASE + "/device/v1/activate", json={"token": token, "public_key": phone.public_key()})
    assert r.status_code == 200, (name, r.status_code, r.text[:300])
    body = r.json()
    phone.device_id = body["device_id"]
    PHONES[name] = {"device_id": phone.device_id, "key": phone.pem()}
    token = csrf(s.get(BASE + "/enroll/options").text)
    r = s.post(BASE + "/enroll/options", data={"csrf_token": token, "name": "Phone", "login_action": "ask"},
               allow_redirects=False)
    assert r.headers.get("location") == "/enroll/done", (name, r.status_code)
    return body["totp_secret"]


def main():
    names = [f"bench{i:05d}" for i in range(USERS)]
    for name in names:
        subprocess.run([BIN, "user", "add", name, "--email", f"{name}@example.edu", "--display-name", name,
                        "--password-stdin"], input=PASSWORD.encode(), check=True, stdout=subprocess.DEVNULL)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        seeds = dict(pool.map(enroll, names))
    out = subprocess.run([BIN, "app", "add", "bench", "--kind", "auth-api"], check=True, capture_output=True,
                         text=True).stdout
    keys = dict(re.findall(r"^(Integration key|Secret key|API hostname): (\S+)$", out, re.M))
    # A half-signed-in browser (password only) for the prompt page, a fully signed-in one for settings.
    prompt = requests.Session()
    token = csrf(prompt.get(BASE + "/login").text)
    prompt.post(BASE + "/login", data={"csrf_token": token, "username": names[0], "password": PASSWORD})
    settings = requests.Session()
    token = csrf(settings.get(BASE + "/login").text)
    settings.post(BASE + "/login", data={"csrf_token": token, "username": names[1], "password": PASSWORD})
    token = csrf(settings.get(BASE + "/prompt").text)
    r = settings.post(BASE + "/prompt/passcode", data={"csrf_token": token, "passcode": totp(seeds[names[1]], time.time() + 30)},
                      allow_redirects=False)
    assert r.status_code == 303, r.status_code
    cookie = lambda s: "; ".join(f"{c.name}={c.value}" for c in s.cookies)
    json.dump({"seeds": seeds, "ikey": keys["Integration key"], "skey": keys["Secret key"],
               "host": keys["API hostname"], "prompt_cookie": cookie(prompt), "settings_cookie": cookie(settings), "phones": PHONES},
              open(OUT, "w"))


main()
