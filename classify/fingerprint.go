package classify

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Fingerprint is the stable group key of an error: provider, code, subcode,
// method and endpoint template (and, for an error without a code, its
// status and category). Never message text or ids; computed from the
// redacted values, so that a hash cannot be searched for a secret.
func Fingerprint(ev *Event) string {
	h := sha256.New()
	for _, s := range []string{ev.Provider, ev.Code, ev.Subcode, ev.Method, ev.Endpoint} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if ev.Code == "" {
		h.Write([]byte(strconv.Itoa(ev.Status)))
		h.Write([]byte{0})
		h.Write([]byte(ev.Category))
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:8])
}
