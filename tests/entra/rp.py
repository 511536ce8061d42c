"""An ordinary OpenID Connect relying party built with authlib, for the browser test of Twofold's
code flow with PKCE. Usage: rp.py TWOFOLD_URL CLIENT_ID CLIENT_SECRET — prints its port, then:
  GET /login     sends the browser to Twofold (code flow, PKCE S256, nonce)
  GET /callback  exchanges the code (client_secret_basic), validates the ID token with Twofold's
                 keys (authlib.jose, CodeIDToken: iss, aud, nonce, exp), reads userinfo
"""

import json
import sys
import urllib.parse
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

TWOFOLD, CLIENT_ID, CLIENT_SECRET = sys.argv[1:4]
CONFIG = requests.get(f"{TWOFOLD}/.well-known/openid-configuration", timeout=10).json()
PENDING = {}


def session(port):
    return OAuth2Session(CLIENT_ID, CLIENT_SECRET, scope="openid profile email",
                         redirect_uri=f"http://127.0.0.1:{port}/callback", code_challenge_method="S256",
                         token_endpoint_auth_method="client_secret_basic")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def page(self, status, body):
        data = ("<!doctype html><title>Test application</title><main>" + body + "</main>").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        port = self.server.server_address[1]
        url = urllib.parse.urlparse(self.path)
        if url.path == "/login":
            verifier, nonce = generate_token(64), generate_token(20)
            target, state = session(port).create_authorization_url(
                CONFIG["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
            PENDING[state] = (verifier, nonce)
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
            return
        if url.path == "/callback":
            q = dict(urllib.parse.parse_qsl(url.query))
            if "error" in q:
                return self.page(400, f"<h1>Refused</h1><p id='error'>{escape(q['error'])}</p>")
            verifier, nonce = PENDING.pop(q.get("state"), (None, None))
            if verifier is None:
                return self.page(400, "<h1>Unknown state</h1>")
            client = session(port)
            token = client.fetch_token(CONFIG["token_endpoint"], code=q["code"], code_verifier=verifier)
            keys = JsonWebKey.import_key_set(requests.get(CONFIG["jwks_uri"], timeout=10).json())
            claims = jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                                claims_options={"iss": {"essential": True, "values": [CONFIG["issuer"]]}},
                                claims_params={"nonce": nonce, "client_id": CLIENT_ID})
            claims.validate()
            info = client.get(CONFIG["userinfo_endpoint"]).json()
            return self.page(200, "<h1>Signed in to the test application</h1>"
                                  f"<p id='user'>{escape(info.get('preferred_username', ''))}</p>"
                                  f"<p id='amr'>{escape(json.dumps(claims.get('amr')))}</p>")
        self.page(404, "<h1>Not found</h1>")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
