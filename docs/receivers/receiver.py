"""A Bunting webhook receiver in Python (standard library only).

Verifies both signatures Bunting sends, answers 204 when they are valid and 401 when not.
Run: BUNTING_WEBHOOK_SECRET=whsec_... python3 receiver.py   (PORT defaults to 8080; 0 picks one)
"""
import base64
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = os.environ["BUNTING_WEBHOOK_SECRET"]
TOLERANCE_SECONDS = 5 * 60


def verify_flagr_signature(secret: str, body: bytes, header: str) -> bool:
    """X-Flagr-Signature: hex HMAC-SHA256 of the raw body, keyed with the secret's bytes.
    During a secret rotation the header lists several signatures separated by commas."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, given.strip().lower()) for given in header.split(","))


def verify_standard_signature(secret: str, msg_id: str, timestamp: str, body: bytes, header: str) -> bool:
    """Standard Webhooks: webhook-signature holds space-separated "v1,<base64>" entries, each an
    HMAC-SHA256 of "id.timestamp.body". A whsec_ secret's key is its base64-decoded rest."""
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False  # too old or from the future: a replay
    key = base64.b64decode(secret[len("whsec_"):]) if secret.startswith("whsec_") else secret.encode()
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, entry.split(",", 1)[1])
        for entry in header.split()
        if entry.startswith("v1,")
    )


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        valid = verify_flagr_signature(SECRET, body, self.headers.get("X-Flagr-Signature", "")) and \
            verify_standard_signature(SECRET, self.headers.get("webhook-id", ""),
                                      self.headers.get("webhook-timestamp", "0"), body,
                                      self.headers.get("webhook-signature", ""))
        if not valid:
            self.send_response(401)
            self.end_headers()
            return
        event = json.loads(body)
        # Deliveries are at least once: use X-Flagr-Delivery (or the event "id") to drop repeats,
        # and "sequence" to drop an update older than one already applied.
        print(f"{event['event']} #{event['sequence']} for flag {event['flag_key']}", flush=True)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = HTTPServer(("127.0.0.1", int(os.environ.get("PORT", "8080"))), Receiver)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()
