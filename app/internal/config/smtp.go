package config

import (
	"net"
	"net/mail"
	"strconv"
	"strings"
)

// The mail server (SMTP) variables: the operator sets all of them from the TenantClass's smtp
// section, or none.
const (
	EnvSMTPHost     = "SLOTBOOK_SMTP_HOST"
	EnvSMTPPort     = "SLOTBOOK_SMTP_PORT"
	EnvSMTPFrom     = "SLOTBOOK_SMTP_FROM"
	EnvSMTPUsername = "SLOTBOOK_SMTP_USERNAME"
	EnvSMTPPassword = "SLOTBOOK_SMTP_PASSWORD"
	EnvSMTPTLS      = "SLOTBOOK_SMTP_TLS"
	// EnvDevInsecureSMTP allows SLOTBOOK_SMTP_TLS=none and skips the verification of the mail
	// server's certificate. Local development only (e.g. a mailpit on localhost); the operator
	// never sets it.
	EnvDevInsecureSMTP = "SLOTBOOK_DEV_INSECURE_SMTP"
)

// SMTP TLS modes (SLOTBOOK_SMTP_TLS).
const (
	SMTPStartTLS = "starttls"
	SMTPImplicit = "implicit"
	// SMTPNone is plain text, only with SLOTBOOK_DEV_INSECURE_SMTP=true.
	SMTPNone = "none"
)

// SMTP is the mail server the app sends through. A nil *SMTP in Config means none is
// configured: mails stay queued (and the admin's mail page says so).
type SMTP struct {
	// Host is a DNS name or a bare IP address (IPv6 without brackets); Addr joins it with Port.
	Host string
	Port int
	// From is the sender, possibly with a display name: From.Address is the envelope sender
	// (MAIL FROM), From.String() the From header.
	From *mail.Address
	// Username and Password: SMTP AUTH, only if Username is set.
	Username string
	Password string
	// TLS is SMTPStartTLS, SMTPImplicit or (dev only) SMTPNone.
	TLS string
	// Insecure: SLOTBOOK_DEV_INSECURE_SMTP=true, the certificate is not verified.
	Insecure bool
}

// Addr is host:port for dialing (IPv6 in brackets).
func (s *SMTP) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// loadSMTP reads the SMTP variables: all of host, port, from and tls, or none of the six;
// username and password together or neither.
func loadSMTP(get func(name, def string) string, bad func(name, format string, args ...any)) *SMTP {
	names := []string{EnvSMTPHost, EnvSMTPPort, EnvSMTPFrom, EnvSMTPTLS, EnvSMTPUsername, EnvSMTPPassword}
	var set []string
	for _, n := range names {
		if get(n, "") != "" {
			set = append(set, n)
		}
	}
	insecureRaw := get(EnvDevInsecureSMTP, "false")
	insecure, err := strconv.ParseBool(insecureRaw)
	if err != nil {
		bad(EnvDevInsecureSMTP, "must be true or false, not %q", insecureRaw)
	}
	if len(set) == 0 {
		return nil
	}
	c := &SMTP{Insecure: insecure}
	ok := true
	for _, n := range names[:4] {
		if get(n, "") == "" {
			bad(n, "is required when any SLOTBOOK_SMTP_* variable is set (%s are set): set all of "+
				"SLOTBOOK_SMTP_HOST, _PORT, _FROM and _TLS, or none", strings.Join(set, ", "))
			ok = false
		}
	}
	if !ok {
		return nil
	}
	c.Host = get(EnvSMTPHost, "")
	if strings.HasPrefix(c.Host, "[") || strings.ContainsAny(c.Host, "/ ") ||
		(strings.Count(c.Host, ":") == 1) || (strings.Contains(c.Host, ":") && net.ParseIP(c.Host) == nil) {
		bad(EnvSMTPHost, "must be a host name or a bare IP address without port or brackets, not %q", c.Host)
	}
	port := get(EnvSMTPPort, "")
	if c.Port, err = strconv.Atoi(port); err != nil || c.Port < 1 || c.Port > 65535 {
		bad(EnvSMTPPort, "must be a port number (1–65535), not %q", port)
	}
	from := get(EnvSMTPFrom, "")
	if c.From, err = mail.ParseAddress(from); err != nil {
		bad(EnvSMTPFrom, "must be an e-mail address, optionally with a display name (Salon <termine@example.com>), not %q (%v)", from, err)
	}
	c.TLS = strings.ToLower(get(EnvSMTPTLS, ""))
	switch c.TLS {
	case SMTPStartTLS, SMTPImplicit:
	case SMTPNone:
		if !insecure {
			bad(EnvSMTPTLS, "%q (plain text) is only allowed with %s=true, for local development", c.TLS, EnvDevInsecureSMTP)
		}
	default:
		bad(EnvSMTPTLS, "must be starttls or implicit, not %q", c.TLS)
	}
	c.Username, c.Password = get(EnvSMTPUsername, ""), get(EnvSMTPPassword, "")
	if (c.Username == "") != (c.Password == "") {
		bad(EnvSMTPUsername, "and %s must be set together (or both left empty for a server without AUTH)", EnvSMTPPassword)
	}
	return c
}
