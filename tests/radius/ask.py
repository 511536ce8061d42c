#!/usr/bin/env python3
"""One RADIUS Access-Request (or Status-Server) sent with PyPI's pyrad, as a VPN would send it;
prints the reply as JSON: {"code": "Access-Accept", "reply_message": ..., "state": hex, ...} or
{"timeout": true}. Used by tests/api/radius.rs.

  ask.py PORT SECRET USER PASSWORD [--state HEX] [--no-message-authenticator]
         [--proxy-state TEXT ...] [--calling-station ID] [--timeout S] [--retries N] [--status]
"""
import argparse, json, os, sys

from pyrad import packet
from pyrad.client import Client, Timeout
from pyrad.dictionary import Dictionary

CODES = {packet.AccessAccept: "Access-Accept", packet.AccessReject: "Access-Reject",
         packet.AccessChallenge: "Access-Challenge"}

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("secret")
p.add_argument("user")
p.add_argument("password")
p.add_argument("--state")
p.add_argument("--no-message-authenticator", action="store_true")
p.add_argument("--proxy-state", action="append", default=[])
p.add_argument("--calling-station")
p.add_argument("--timeout", type=float, default=5)
p.add_argument("--retries", type=int, default=1)
p.add_argument("--status", action="store_true")
a = p.parse_args()

here = os.path.dirname(os.path.abspath(__file__))
client = Client(server="127.0.0.1", authport=a.port, secret=a.secret.encode(),
                dict=Dictionary(os.path.join(here, "dictionary")))
client.timeout, client.retries = a.timeout, a.retries
signed = not a.no_message_authenticator
if a.status:
    req = client.CreateAuthPacket(code=packet.StatusServer, message_authenticator=signed)
else:
    req = client.CreateAuthPacket(code=packet.AccessRequest, User_Name=a.user, message_authenticator=signed)
    req["User-Password"] = req.PwCrypt(a.password)
    req["NAS-IP-Address"] = "192.0.2.10"
    req["NAS-Identifier"] = "test-vpn"
    if a.calling_station:
        req["Calling-Station-Id"] = a.calling_station
    if a.state:
        req["State"] = bytes.fromhex(a.state)
for ps in a.proxy_state:
    req.AddAttribute("Proxy-State", ps.encode())
if signed:
    # Added again after the last attribute (pyrad computes it when the packet is sent).
    req.add_message_authenticator()
try:
    reply = client.SendPacket(req)
except Timeout:
    print(json.dumps({"timeout": True}))
    sys.exit(0)

def first(name):
    return reply[name][0] if name in reply else None

out = {
    "code": CODES.get(reply.code, str(reply.code)),
    # pyrad checked the Response Authenticator; the Message-Authenticator must be there and right.
    "message_authenticator": reply.verify_message_authenticator(original_authenticator=req.authenticator)
    if "Message-Authenticator" in reply else None,
    "first_attribute": reply.raw_packet[20] if getattr(reply, "raw_packet", None) and len(reply.raw_packet) > 20 else None,
    "reply_message": "".join(reply["Reply-Message"]) if "Reply-Message" in reply else None,
    "state": first("State").hex() if "State" in reply else None,
    "class": first("Class").decode() if "Class" in reply else None,
    "filter_id": first("Filter-Id"),
    "proxy_state": [v.decode() for v in reply["Proxy-State"]] if "Proxy-State" in reply else [],
}
print(json.dumps(out))
