package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"strings"
)

// Parsed is a message read as a mail client reads it, with net/mail and
// mime/multipart.
type Parsed struct {
	Header netmail.Header
	// Containers are the multipart types met, outermost first.
	Containers []string
	// Parts are the leaves, in order, their bodies decoded.
	Parts []Part
}

// Part is a leaf of a message.
type Part struct {
	Header    textproto.MIMEHeader
	MediaType string
	Params    map[string]string
	// Encoding is the Content-Transfer-Encoding; Body is decoded from it.
	Encoding string
	Body     []byte
}

// Parse reads a message (as Message.Data holds it).
func Parse(data []byte) (*Parsed, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	p := &Parsed{Header: msg.Header}
	return p, p.walk(textproto.MIMEHeader(msg.Header), msg.Body)
}

func (p *Parsed) walk(header textproto.MIMEHeader, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil {
		return fmt.Errorf("content type %q: %w", header.Get("Content-Type"), err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		p.Containers = append(p.Containers, mt)
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart() // raw: decoded below, as the encoding is checked
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := p.walk(part.Header, part); err != nil {
				return err
			}
		}
	}
	enc := strings.ToLower(header.Get("Content-Transfer-Encoding"))
	r := body
	switch enc {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "", "7bit", "8bit":
	default:
		return fmt.Errorf("transfer encoding %q", enc)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	p.Parts = append(p.Parts, Part{Header: header, MediaType: mt, Params: params, Encoding: enc, Body: b})
	return nil
}
