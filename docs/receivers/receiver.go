// A Bunting webhook receiver in Go (standard library only).
//
// Verifies both signatures Bunting sends, answers 204 when they are valid and 401 when not.
// Run: BUNTING_WEBHOOK_SECRET=whsec_... go run receiver.go   (PORT defaults to 8080; 0 picks one)
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

const toleranceSeconds = 5 * 60

func sign(key, message []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(message)
	return mac.Sum(nil)
}

// X-Flagr-Signature: hex HMAC-SHA256 of the raw body, keyed with the secret's bytes.
// During a secret rotation the header lists several signatures separated by commas.
func verifyFlagrSignature(secret string, body []byte, header string) bool {
	expected := hex.EncodeToString(sign([]byte(secret), body))
	for _, given := range strings.Split(header, ",") {
		if hmac.Equal([]byte(expected), []byte(strings.ToLower(strings.TrimSpace(given)))) {
			return true
		}
	}
	return false
}

// Standard Webhooks: webhook-signature holds space-separated "v1,<base64>" entries, each an
// HMAC-SHA256 of "id.timestamp.body". A whsec_ secret's key is its base64-decoded rest.
func verifyStandardSignature(secret, id, timestamp string, body []byte, header string) bool {
	sent, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || abs(time.Now().Unix()-sent) > toleranceSeconds {
		return false
	}
	key := []byte(secret)
	if strings.HasPrefix(secret, "whsec_") {
		if decoded, err := base64.StdEncoding.DecodeString(secret[6:]); err == nil {
			key = decoded
		}
	}
	signed := append([]byte(id+"."+timestamp+"."), body...)
	expected := base64.StdEncoding.EncodeToString(sign(key, signed))
	for _, entry := range strings.Fields(header) {
		if strings.HasPrefix(entry, "v1,") && hmac.Equal([]byte(expected), []byte(entry[3:])) {
			return true
		}
	}
	return false
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func main() {
	secret := os.Getenv("BUNTING_WEBHOOK_SECRET")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		valid := verifyFlagrSignature(secret, body, r.Header.Get("X-Flagr-Signature")) &&
			verifyStandardSignature(secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body,
				r.Header.Get("webhook-signature"))
		if !valid {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var event struct {
			Event    string `json:"event"`
			Sequence int64  `json:"sequence"`
			FlagKey  string `json:"flag_key"`
		}
		json.Unmarshal(body, &event)
		// Deliveries are at least once: drop repeats by X-Flagr-Delivery (or the event "id"), and
		// drop an update older than one already applied by "sequence".
		fmt.Printf("%s #%d for flag %s\n", event.Event, event.Sequence, event.FlagKey)
		w.WriteHeader(http.StatusNoContent)
	})
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		panic(err)
	}
	fmt.Printf("listening on %d\n", listener.Addr().(*net.TCPAddr).Port)
	http.Serve(listener, nil)
}
