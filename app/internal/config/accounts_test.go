package config

import (
	"strings"
	"testing"
)

// `slotbook admin` needs the account settings, but not the listen addresses or proxies.
func TestNeedAccounts(t *testing.T) {
	env := map[string]string{
		EnvDatabaseURL: "postgresql://booking:pw@localhost:5432/booking?sslmode=verify-full",
		EnvListenAddr:  "not an address",
	}
	get := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	_, err := Load(get, NeedAccounts)
	if err == nil || !strings.Contains(err.Error(), EnvBaseURL) || !strings.Contains(err.Error(), EnvSessionKey) ||
		strings.Contains(err.Error(), EnvListenAddr) {
		t.Fatalf("without base URL and session key: %v", err)
	}
	env[EnvBaseURL] = "https://booking.example.com"
	env[EnvSessionKey] = strings.Repeat("k", 40)
	c, err := Load(get, NeedAccounts)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseURL.String() != "https://booking.example.com" || c.MFA != MFAOptional || c.PasswordMinLength != 12 ||
		c.SessionIdleTimeout.Minutes() != 15 || c.ListenAddr != "" {
		t.Errorf("config %+v", c)
	}
}
