package redact

import "strings"

// PEM private keys (PKCS#8, PKCS#1 RSA, SEC 1 EC, DSA, OpenSSH, encrypted
// PKCS#8, PGP private key blocks) are removed whole, from "-----BEGIN" to
// the end of the matching "-----END … -----" line, whatever lies between
// (line breaks, "\n" escapes of a JSON string, Proc-Type and DEK-Info
// headers). A block cut before its END line (a truncated body, a cut log
// line) is removed to the end of its base64 text. Certificates and public
// keys are not secrets and stay.

const (
	pemBegin = "-----BEGIN "
	pemEnd   = "-----END "
	pemDash  = "-----"
)

// maxPEMLabel bounds the label between BEGIN and its dashes.
const maxPEMLabel = 48

// matchPEM is called at '-'.
func matchPEM(s string, i int) (int, int) {
	if !hasPrefixFold(s, i, "-----begin ") {
		return -1, -1
	}
	p := i + len(pemBegin)
	q := p
	for q < len(s) && q-p <= maxPEMLabel && (isUpper(s[q]) || isDigit(s[q]) || s[q] == ' ' || s[q] == '_' || s[q] == '#') {
		q++
	}
	if !strings.Contains(s[p:q], "PRIVATE KEY") || q+len(pemDash) > len(s) || s[q:q+len(pemDash)] != pemDash {
		return -1, -1
	}
	// The base64 text, its line breaks (raw or escaped) and headers go,
	// up to the END line, or else up to what cannot be part of the block.
	end := q + len(pemDash)
	for end < len(s) && pemBodyByte[s[end]] {
		if s[end] == '-' && hasPrefixFold(s, end, "-----end ") {
			end += len(pemEnd)
			label := end
			for end < len(s) && end-label <= maxPEMLabel && s[end] != '-' && s[end] != '\n' {
				end++
			}
			for end < len(s) && s[end] == '-' {
				end++
			}
			break
		}
		end++
	}
	return i, end
}

// pemBodyByte: what a PEM block's body and headers are made of, "\n"
// escapes included.
var pemBodyByte = alphabet("+/=\n\r\t :,-\\_.", isAlnum)
