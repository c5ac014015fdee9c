// A Bunting webhook receiver in Node.js (no dependencies).
//
// Verifies both signatures Bunting sends, answers 204 when they are valid and 401 when not.
// Run: BUNTING_WEBHOOK_SECRET=whsec_... node receiver.js   (PORT defaults to 8080; 0 picks one)
const crypto = require("node:crypto");
const http = require("node:http");

const SECRET = process.env.BUNTING_WEBHOOK_SECRET;
const TOLERANCE_SECONDS = 5 * 60;

function equal(a, b) {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && crypto.timingSafeEqual(left, right);
}

// X-Flagr-Signature: hex HMAC-SHA256 of the raw body, keyed with the secret's bytes.
// During a secret rotation the header lists several signatures separated by commas.
function verifyFlagrSignature(secret, body, header) {
  const expected = crypto.createHmac("sha256", secret).update(body).digest("hex");
  return header.split(",").some((given) => equal(expected, given.trim().toLowerCase()));
}

// Standard Webhooks: webhook-signature holds space-separated "v1,<base64>" entries, each an
// HMAC-SHA256 of "id.timestamp.body". A whsec_ secret's key is its base64-decoded rest.
function verifyStandardSignature(secret, id, timestamp, body, header) {
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) return false;
  const key = secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret);
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);
  const expected = crypto.createHmac("sha256", key).update(signed).digest("base64");
  return header
    .split(" ")
    .filter((entry) => entry.startsWith("v1,"))
    .some((entry) => equal(expected, entry.slice(3)));
}

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks);
    const headers = request.headers;
    const valid =
      verifyFlagrSignature(SECRET, body, headers["x-flagr-signature"] || "") &&
      verifyStandardSignature(SECRET, headers["webhook-id"] || "", headers["webhook-timestamp"] || "0", body,
        headers["webhook-signature"] || "");
    if (!valid) {
      response.writeHead(401).end();
      return;
    }
    const event = JSON.parse(body);
    // Deliveries are at least once: drop repeats by X-Flagr-Delivery (or the event "id"), and
    // drop an update older than one already applied by "sequence".
    console.log(`${event.event} #${event.sequence} for flag ${event.flag_key}`);
    response.writeHead(204).end();
  });
});

server.listen(Number(process.env.PORT ?? 8080), "127.0.0.1", () => {
  console.log(`listening on ${server.address().port}`);
});
