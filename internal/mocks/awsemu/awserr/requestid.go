package awserr

import (
	"crypto/rand"
	"encoding/hex"
)

// NewRequestID is a random (version 4) UUID in its 8-4-4-4-12 text form: the shape of AWS's
// request IDs and of CloudTrail's event IDs. It is written in place, since every request and
// every record takes one.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var id [36]byte
	hex.Encode(id[0:8], b[0:4])
	id[8] = '-'
	hex.Encode(id[9:13], b[4:6])
	id[13] = '-'
	hex.Encode(id[14:18], b[6:8])
	id[18] = '-'
	hex.Encode(id[19:23], b[8:10])
	id[23] = '-'
	hex.Encode(id[24:], b[10:])
	return string(id[:])
}
