package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/mail"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/slotbook/slotbook/app/internal/config"
)

// Sender delivers messages through the configured SMTP server.
type Sender struct {
	cfg *config.SMTP
	// rootCAs verifies the server (nil: the system roots, which honour SSL_CERT_FILE).
	rootCAs *x509.CertPool
	host    string // HELO name and the right side of Message-IDs
	timeout time.Duration
}

// SenderOptions adjust a Sender.
type SenderOptions struct {
	// RootCAs replaces the system roots (tests).
	RootCAs *x509.CertPool
	// Host is the app's host name, for HELO and Message-ID (default "localhost").
	Host string
	// Timeout of each SMTP operation (default 30 s).
	Timeout time.Duration
}

// NewSender returns a sender for cfg (must not be nil).
func NewSender(cfg *config.SMTP, o SenderOptions) *Sender {
	if o.Host == "" {
		o.Host = "localhost"
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return &Sender{cfg: cfg, rootCAs: o.RootCAs, host: o.Host, timeout: o.Timeout}
}

// From is the configured sender address.
func (s *Sender) From() *mail.Address { return s.cfg.From }

// Timeout is the longest one SMTP operation may take.
func (s *Sender) Timeout() time.Duration { return s.timeout }

// Build turns a message into a go-mail message; id is the stable Message-ID's local part (the
// outbox row), so that a mail sent twice after a crash carries the same Message-ID and the
// receiving side can recognise the duplicate.
func (s *Sender) Build(m *Message, id string) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.cfg.From)
	msg.EnvelopeFromMailAddress(&mail.Address{Address: s.cfg.From.Address})
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(id + "@" + s.host)
	msg.SetDate()
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	if m.ICS != nil {
		ct := gomail.ContentType("text/calendar; method=" + m.ICSMethod)
		if err := msg.AttachReader("invite.ics", bytes.NewReader(m.ICS), gomail.WithFileContentType(ct)); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// client makes a go-mail client: STARTTLS or implicit TLS mandatory, the certificate verified
// against the system roots (or RootCAs), unless the dev switch allows otherwise.
func (s *Sender) client() (*gomail.Client, error) {
	tlsConf := &tls.Config{ServerName: s.cfg.Host, RootCAs: s.rootCAs, MinVersion: tls.VersionTLS12}
	if s.cfg.Insecure {
		tlsConf.InsecureSkipVerify = true // SLOTBOOK_DEV_INSECURE_SMTP=true: local development only
	}
	opts := []gomail.Option{
		gomail.WithPort(s.cfg.Port),
		gomail.WithTimeout(s.timeout),
		gomail.WithHELO(s.host),
		gomail.WithTLSConfig(tlsConf),
	}
	switch s.cfg.TLS {
	case config.SMTPImplicit:
		opts = append(opts, gomail.WithSSL())
	case config.SMTPStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default: // SMTPNone, only with the dev switch (config enforces it)
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	return gomail.NewClient(s.cfg.Host, opts...)
}

// Conn is an open SMTP connection.
type Conn struct{ c *gomail.Client }

// Dial connects (and authenticates).
func (s *Sender) Dial(ctx context.Context) (*Conn, error) {
	c, err := s.client()
	if err != nil {
		return nil, err
	}
	if err := c.DialWithContext(ctx); err != nil {
		return nil, err
	}
	return &Conn{c}, nil
}

// Send sends one message. A *PermanentError means retrying will not help (the server refused
// the recipient or the message with a 5xx reply).
func (c *Conn) Send(msg *gomail.Msg) error {
	err := c.c.Send(msg)
	var se *gomail.SendError
	if errors.As(err, &se) && se.ErrorCode() >= 500 && se.ErrorCode() < 600 &&
		(se.Reason == gomail.ErrSMTPRcptTo || se.Reason == gomail.ErrSMTPMailFrom || se.Reason == gomail.ErrSMTPDataClose) {
		return &PermanentError{err}
	}
	return err
}

// Close ends the connection.
func (c *Conn) Close() error { return c.c.Close() }

// PermanentError is a refusal that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }
