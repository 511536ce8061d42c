"""A stand-in for Microsoft Entra ID's side of External Authentication Methods, written with PyJWT
(a real JOSE library): it publishes its signing keys, signs id_token_hints, sends the browser to
Twofold's authorize endpoint by a form post (as Entra does), and verifies the ID token Twofold
posts back with Twofold's published keys.

Usage: entra.py CLIENT_ID — prints the port it listens on, then serves:
  GET  /keys                        Entra's JWKS
  GET  /hint?user=&sub=&aud=&exp=&iss=&forge=   a signed hint (exp: seconds from now; forge=1: signed
                                    with a key that is not published, under a published key id)
  GET  /start?twofold=&hint=&nonce=&state=   a page whose form posts the sign-in request to Twofold
  POST /callback                    where Twofold posts the ID token; verified at once
  GET  /result                      the last verification, as JSON
"""

import json
import sys
import time
import urllib.parse
import urllib.request
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = sys.argv[1]
TENANT = "11111111-2222-3333-4444-555555555555"
KID = "entra-test-key"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FORGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
STATE = {"result": None, "nonce": None, "sub": None, "twofold": None}


def jwks():
    jwk = json.loads(RSAAlgorithm.to_jwk(KEY.public_key()))
    jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def issuer(port):
    return f"http://127.0.0.1:{port}/{TENANT}/v2.0"


def verify(id_token):
    base = STATE["twofold"]
    config = json.load(urllib.request.urlopen(f"{base}/.well-known/openid-configuration"))
    keys = jwt.PyJWKClient(config["jwks_uri"])
    signing_key = keys.get_signing_key_from_jwt(id_token)
    claims = jwt.decode(id_token, signing_key.key, algorithms=["RS256"], audience=CLIENT_ID, issuer=config["issuer"])
    problems = []
    if claims.get("nonce") != STATE["nonce"]:
        problems.append("nonce")
    if claims.get("sub") != STATE["sub"]:
        problems.append("sub")
    if claims.get("acr") != "possessionorinherence":
        problems.append("acr")
    if not claims.get("amr"):
        problems.append("amr")
    return {"valid": not problems, "problems": problems, "claims": claims}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body, kind="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        port = self.server.server_address[1]
        if url.path == "/keys":
            return self.send(200, jwks())
        if url.path == "/hint":
            now = int(time.time())
            claims = {
                "iss": q.get("iss", issuer(port)),
                "aud": q.get("aud", CLIENT_ID),
                "sub": q.get("sub", "entra-subject-of-" + q["user"]),
                "oid": "00000000-0000-0000-0000-00000000000a",
                "tid": TENANT,
                "preferred_username": q["user"],
                "iat": now - 60,
                "nbf": now - 60,
                "exp": now + int(q.get("exp", "300")),
            }
            key = FORGER if q.get("forge") else KEY
            return self.send(200, jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID}), "text/plain")
        if url.path == "/start":
            hint = q["hint"]
            STATE["twofold"] = q["twofold"]
            STATE["nonce"] = q.get("nonce", "nonce-1")
            STATE["sub"] = jwt.decode(hint, options={"verify_signature": False})["sub"]
            STATE["result"] = None
            fields = {
                "scope": "openid",
                "response_type": "id_token",
                "response_mode": "form_post",
                "client_id": CLIENT_ID,
                "redirect_uri": f"http://127.0.0.1:{port}/callback",
                "nonce": STATE["nonce"],
                "state": q.get("state", "state-1"),
                "id_token_hint": hint,
                "claims": json.dumps({"id_token": {"acr": {"essential": True, "values": ["possessionorinherence"]},
                                                   "amr": {"essential": True}}}),
            }
            inputs = "".join(f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in fields.items())
            action = STATE["twofold"] + "/oidc/authorize"
            page = (f'<!doctype html><title>Entra</title><form method="post" action="{action}">'
                    f'{inputs}<button type="submit">Verify with Twofold</button></form>')
            return self.send(200, page, "text/html")
        if url.path == "/result":
            return self.send(200, STATE["result"] or {})
        self.send(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        if self.path != "/callback":
            return self.send(404, {"error": "not found"})
        if "id_token" in form:
            try:
                STATE["result"] = verify(form["id_token"]) | {"state": form.get("state")}
            except Exception as e:  # the test reads why
                STATE["result"] = {"valid": False, "problems": [repr(e)]}
        else:
            STATE["result"] = {"valid": False, "error": form.get("error"), "error_description": form.get("error_description"),
                               "state": form.get("state")}
        page = "<!doctype html><title>Entra</title><h1>Back at Entra</h1><p id='result'>" + escape(json.dumps(STATE["result"])) + "</p>"
        self.send(200, page, "text/html")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
