package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// FuzzHMACSHA256MatchesCryptoHMAC holds the verifier's HMAC to crypto/hmac's, for keys shorter
// and longer than a block (a secret may be any length) and any message.
func FuzzHMACSHA256MatchesCryptoHMAC(f *testing.F) {
	f.Add([]byte("AWS4wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), []byte("20150830"))
	f.Add([]byte{}, []byte{})
	f.Add(make([]byte, sha256.BlockSize), []byte("aws4_request"))
	f.Add(make([]byte, sha256.BlockSize+1), make([]byte, 300))
	f.Fuzz(func(t *testing.T, key, msg []byte) {
		mac := hmac.New(sha256.New, key)
		mac.Write(msg)
		want := mac.Sum(nil)
		if got := hmacSHA256(nil, key, msg); string(got[:]) != string(want) {
			t.Fatalf("hmacSHA256(%x, %x) = %x, crypto/hmac says %x", key, msg, got, want)
		}
		if got := hmacSHA256(make([]byte, 0, 8), key, string(msg)); string(got[:]) != string(want) {
			t.Fatalf("hmacSHA256 of a string message: %x, want %x", got, want)
		}
	})
}

// TestDeriveSigningKeyMatchesTheSigV4Example derives the key of the SigV4 documentation's
// example ("Examples of how to derive a signing key", secret wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY).
func TestDeriveSigningKeyMatchesTheSigV4Example(t *testing.T) {
	key := deriveSigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Scope{Date: "20120215", Region: "us-east-1", Service: "iam"})
	const want = "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
	if got := hex.EncodeToString(key[:]); got != want {
		t.Fatalf("signing key %s, want %s", got, want)
	}
}
