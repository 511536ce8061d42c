"""The Twofold authenticator's side of the device API, for the benchmark scripts: a P-256 key,
its public key as the server expects it (uncompressed SEC1 point, base64url without padding) and
signatures as WebCrypto gives them (64-byte r||s over SHA-256, base64url without padding), over the
exact messages of src/factors/push.rs.
"""

import base64, time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def answer_message(request_id, decision, number):
    return f"twofold-push-answer\n{request_id}\n{decision}\n{number}"


def pending_message(device_id, timestamp):
    return f"twofold-push-pending\n{device_id}\n{timestamp}"


class Phone:
    def __init__(self, key, device_id=""):
        self.key = key
        self.device_id = device_id

    @classmethod
    def new(cls):
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def load(cls, entry):
        key = serialization.load_pem_private_key(entry["key"].encode(), password=None)
        return cls(key, entry["device_id"])

    def pem(self):
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()

    def public_key(self):
        point = self.key.public_key().public_bytes(serialization.Encoding.X962,
                                                   serialization.PublicFormat.UncompressedPoint)
        return b64url(point)

    def sign(self, message):
        r, s = decode_dss_signature(self.key.sign(message.encode(), ec.ECDSA(hashes.SHA256())))
        return b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))

    def pending_body(self):
        ts = int(time.time())
        return {"device_id": self.device_id, "timestamp": ts, "signature": self.sign(pending_message(self.device_id, ts))}

    def answer_body(self, request_id, decision, number=""):
        return {"device_id": self.device_id, "request_id": request_id, "decision": decision, "number": number,
                "signature": self.sign(answer_message(request_id, decision, number))}
