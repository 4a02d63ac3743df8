package config

import (
	"strings"
	"testing"
	"time"
)

func valid() map[string]string {
	return map[string]string{
		EnvDatabaseURL: "postgresql://booking:pw@localhost:5432/booking?sslmode=verify-full",
		EnvBaseURL:     "https://booking.example.com",
		EnvSessionKey:  strings.Repeat("k", 40),
	}
}

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(lookup(valid()), NeedAll)
	if err != nil {
		t.Fatal(err)
	}
	if c.MFA != MFAOptional || c.SessionIdleTimeout != 15*time.Minute || c.PasswordMinLength != 12 ||
		c.TimeZone.String() != "Europe/Berlin" || c.ListenAddr != ":8080" || c.MetricsAddr != ":9090" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	tests := []struct {
		variable, value string
	}{
		{EnvDatabaseURL, ""},
		{EnvDatabaseURL, "mysql://x"},
		{EnvBaseURL, ""},
		{EnvBaseURL, "booking.example.com"},
		{EnvBaseURL, "https://booking.example.com/path"},
		{EnvSessionKey, "short"},
		{EnvMFA, "Sometimes"},
		{EnvSessionIdleTimeout, "10s"},
		{EnvSessionIdleTimeout, "forever"},
		{EnvPasswordMinLength, "7"},
		{EnvPasswordMinLength, "twelve"},
		{EnvTimeZone, "Mars/Olympus"},
		{EnvListenAddr, "8080"},
		{EnvMetricsAddr, "localhost"},
		{EnvTrustedProxies, "ingress"},
		{EnvTrustedProxies, "10.0.0.1/8"},
		{EnvTrustedProxies, "0.0.0.0/0"},
		{EnvDatabaseURL, "postgresql://booking:pw@localhost/booking"},
		{EnvDatabaseURL, "postgresql://booking:pw@localhost/booking?sslmode=require"},
		{EnvDatabaseURL, "postgresql://booking:pw@localhost/booking?sslmode=verify-ca"},
		{EnvDatabaseURL, "postgresql://booking:pw@localhost/booking?sslmode=disable"},
	}
	for _, tc := range tests {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			env := valid()
			env[tc.variable] = tc.value
			_, err := Load(lookup(env), NeedAll)
			if err == nil || !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("error %v does not name %s", err, tc.variable)
			}
		})
	}
}

func TestMigrateNeedsOnlyTheDatabase(t *testing.T) {
	env := map[string]string{EnvDatabaseURL: valid()[EnvDatabaseURL]}
	if _, err := Load(lookup(env), NeedDatabase); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(lookup(env), NeedAll); err == nil {
		t.Fatal("serve without base URL and session key was accepted")
	}
}

func TestAllProblemsAreReportedAtOnce(t *testing.T) {
	_, err := Load(lookup(map[string]string{EnvMFA: "x"}), NeedAll)
	for _, name := range []string{EnvDatabaseURL, EnvBaseURL, EnvSessionKey, EnvMFA} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestInsecureDatabaseOnlyWithTheDevSwitch(t *testing.T) {
	for _, mode := range []string{"disable", "prefer", "require", "verify-ca"} {
		env := valid()
		env[EnvDatabaseURL] = "postgresql://booking:pw@localhost/booking?sslmode=" + mode
		_, err := Load(lookup(env), NeedDatabase)
		if err == nil || !strings.Contains(err.Error(), "TLS to the database is required") {
			t.Errorf("sslmode=%s: %v", mode, err)
		}
		env[EnvDevInsecureDatabase] = "true"
		if _, err := Load(lookup(env), NeedDatabase); err != nil {
			t.Errorf("sslmode=%s with the dev switch: %v", mode, err)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := Load(lookup(valid()), NeedAll)
	if err != nil {
		t.Fatal(err)
	}
	if !c.TrustedProxies.Empty() {
		t.Errorf("unset trusts %v, want nothing", c.TrustedProxies)
	}
	env := valid()
	env[EnvTrustedProxies] = " 10.244.0.0/16, fd00:10:244::/56,192.0.2.7 "
	c, err = Load(lookup(env), NeedAll)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.TrustedProxies.String(); got != "10.244.0.0/16,fd00:10:244::/56,192.0.2.7/32" {
		t.Errorf("trusted = %q", got)
	}
}
