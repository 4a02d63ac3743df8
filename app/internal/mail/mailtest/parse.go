package mailtest

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
)

func mustAddress(s string) mail.Address {
	a, err := mail.ParseAddress(s)
	if err != nil {
		panic(err)
	}
	return *a
}

// Parsed is a received mail taken apart.
type Parsed struct {
	Header  mail.Header
	Subject string
	Text    string
	HTML    string
	ICS     string
	// ICSType is the attachment's Content-Type.
	ICSType string
}

// Parse takes a multipart mail apart (text, HTML, .ics), decoding transfer encodings.
func Parse(data []byte) (*Parsed, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	p := &Parsed{Header: m.Header}
	dec := new(mime.WordDecoder)
	p.Subject, _ = dec.DecodeHeader(m.Header.Get("Subject"))
	err = walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, p)
	return p, err
}

func walk(ctype, cte string, body io.Reader, p *Parsed) error {
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part, p); err != nil {
				return err
			}
		}
	}
	b, err := decode(cte, body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		p.Text = string(b)
	case "text/html":
		p.HTML = string(b)
	case "text/calendar", "application/ics":
		p.ICS, p.ICSType = string(b), ctype
	}
	return nil
}
