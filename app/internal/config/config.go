// Package config reads the app's configuration from the environment. The variable names are a
// contract with the operator, which sets exactly these on the app's Deployment. Bad values fail
// the start with a message that names the variable.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/slotbook/slotbook/app/internal/httpsec"
)

// Names of the environment variables.
const (
	EnvDatabaseURL        = "SLOTBOOK_DATABASE_URL"
	EnvBaseURL            = "SLOTBOOK_BASE_URL"
	EnvSessionKey         = "SLOTBOOK_SESSION_KEY"
	EnvMFA                = "SLOTBOOK_MFA"
	EnvSessionIdleTimeout = "SLOTBOOK_SESSION_IDLE_TIMEOUT"
	EnvPasswordMinLength  = "SLOTBOOK_PASSWORD_MIN_LENGTH"
	EnvTimeZone           = "SLOTBOOK_TIMEZONE"
	EnvListenAddr         = "SLOTBOOK_LISTEN_ADDR"
	EnvMetricsAddr        = "SLOTBOOK_METRICS_ADDR"
	// EnvTrustedProxies lists the ingress controller's addresses (comma-separated CIDRs/IPs) whose
	// X-Forwarded-For/-Proto/X-Request-Id are believed. Unset or empty: trust nothing.
	EnvTrustedProxies = "SLOTBOOK_TRUSTED_PROXIES"

	// EnvDevInsecureDatabase allows a database URL without sslmode=verify-full. Local development
	// only (make run-app); the operator never sets it.
	EnvDevInsecureDatabase = "SLOTBOOK_DEV_INSECURE_DATABASE"
)

// MFA modes.
const (
	MFAOptional = "Optional"
	MFARequired = "Required"
)

// Config is the app's configuration.
type Config struct {
	DatabaseURL        string
	BaseURL            *url.URL
	SessionKey         string
	MFA                string
	SessionIdleTimeout time.Duration
	PasswordMinLength  int
	TimeZone           *time.Location
	ListenAddr         string
	MetricsAddr        string
	// TrustedProxies are the peers whose forwarding headers are believed (empty: none).
	TrustedProxies httpsec.TrustedProxies
	// DevInsecureDatabase is set when the database URL may go without TLS verification.
	DevInsecureDatabase bool
	// SMTP is the mail server (nil: none configured, mail stays queued); see smtp.go.
	SMTP *SMTP
}

// Needs says which variables a subcommand requires: serve needs everything, migrate only the
// database.
type Needs int

const (
	NeedDatabase Needs = iota // migrate, seed-demo
	NeedAll                   // serve
	// NeedAccounts: the database plus what the account service needs (base URL, session key, MFA,
	// idle timeout, password length), for `slotbook admin`.
	NeedAccounts
)

// FromEnv reads the configuration from the process environment.
func FromEnv(needs Needs) (*Config, error) { return Load(os.LookupEnv, needs) }

// Load reads the configuration through lookup (os.LookupEnv in production), collecting every
// problem so that one start reports all of them.
func Load(lookup func(string) (string, bool), needs Needs) (*Config, error) {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	get := func(name, def string) string {
		if v, ok := lookup(name); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	c := &Config{}

	c.DatabaseURL = get(EnvDatabaseURL, "")
	if c.DatabaseURL == "" {
		bad(EnvDatabaseURL, "is required (a PostgreSQL URL such as postgresql://user:password@host:5432/booking?sslmode=verify-full)")
	} else if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad(EnvDatabaseURL, "must be a postgres:// or postgresql:// URL")
	} else {
		insecure := get(EnvDevInsecureDatabase, "false")
		c.DevInsecureDatabase, err = strconv.ParseBool(insecure)
		if err != nil {
			bad(EnvDevInsecureDatabase, "must be true or false, not %q", insecure)
		}
		// Personal data never crosses the network in plain text (TOM §6, §10): the server's
		// certificate must be verified, host name included.
		if mode := u.Query().Get("sslmode"); mode != "verify-full" && !c.DevInsecureDatabase {
			if mode == "" {
				mode = "unset"
			}
			bad(EnvDatabaseURL, "TLS to the database is required: the URL must carry sslmode=verify-full "+
				"(and sslrootcert=<CA file>), not sslmode=%s; for local development only, %s=true allows it", mode, EnvDevInsecureDatabase)
		}
	}

	tz := get(EnvTimeZone, "Europe/Berlin")
	loc, err := time.LoadLocation(tz)
	if err != nil {
		bad(EnvTimeZone, "%q is not a known IANA time zone (e.g. Europe/Berlin)", tz)
	}
	c.TimeZone = loc

	if needs == NeedAll || needs == NeedAccounts {
		base := get(EnvBaseURL, "")
		u, err := url.Parse(base)
		switch {
		case base == "":
			bad(EnvBaseURL, "is required (the public URL of the booking site, e.g. https://booking.example.com)")
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "":
			bad(EnvBaseURL, "must be an absolute http(s) URL without path or query, e.g. https://booking.example.com")
		default:
			u.Path = ""
			c.BaseURL = u
		}

		c.SessionKey = get(EnvSessionKey, "")
		if len(c.SessionKey) < 32 {
			bad(EnvSessionKey, "must be at least 32 characters of random data (the operator generates one)")
		}

		c.MFA = get(EnvMFA, MFAOptional)
		if c.MFA != MFAOptional && c.MFA != MFARequired {
			bad(EnvMFA, "must be %s or %s, not %q", MFAOptional, MFARequired, c.MFA)
		}

		idle := get(EnvSessionIdleTimeout, "15m")
		d, err := time.ParseDuration(idle)
		if err != nil || d < time.Minute || d > 24*time.Hour {
			bad(EnvSessionIdleTimeout, "must be a duration between 1m and 24h, e.g. 15m, not %q", idle)
		}
		c.SessionIdleTimeout = d

		minLen := get(EnvPasswordMinLength, "12")
		n, err := strconv.Atoi(minLen)
		if err != nil || n < 8 || n > 128 {
			bad(EnvPasswordMinLength, "must be a number between 8 and 128, not %q", minLen)
		}
		c.PasswordMinLength = n
	}
	if needs == NeedAll {
		c.ListenAddr = get(EnvListenAddr, ":8080")
		if _, _, err := net.SplitHostPort(c.ListenAddr); err != nil {
			bad(EnvListenAddr, "must be host:port or :port, not %q", c.ListenAddr)
		}
		c.MetricsAddr = get(EnvMetricsAddr, ":9090")
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			bad(EnvMetricsAddr, "must be host:port or :port, not %q", c.MetricsAddr)
		}

		proxies := get(EnvTrustedProxies, "")
		if c.TrustedProxies, err = httpsec.ParseTrustedProxies(proxies); err != nil {
			bad(EnvTrustedProxies, "must be comma-separated CIDRs or IP addresses of the ingress controller, e.g. 10.244.0.0/16 (%v)", err)
		}
		c.SMTP = loadSMTP(get, bad)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("invalid configuration:\n  %w", errors.Join(errs...))
	}
	return c, nil
}
