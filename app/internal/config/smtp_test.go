package config

import (
	"strings"
	"testing"
)

func withSMTP() map[string]string {
	env := valid()
	env[EnvSMTPHost] = "smtp.example.com"
	env[EnvSMTPPort] = "587"
	env[EnvSMTPFrom] = "Salon Müller <termine@example.de>"
	env[EnvSMTPTLS] = "starttls"
	env[EnvSMTPUsername] = "user"
	env[EnvSMTPPassword] = "secret"
	return env
}

func TestSMTPOptional(t *testing.T) {
	c, err := Load(lookup(valid()), NeedAll)
	if err != nil || c.SMTP != nil {
		t.Fatalf("without SMTP: %+v, %v", c, err)
	}
}

func TestSMTPValid(t *testing.T) {
	c, err := Load(lookup(withSMTP()), NeedAll)
	if err != nil {
		t.Fatal(err)
	}
	s := c.SMTP
	if s.Addr() != "smtp.example.com:587" || s.From.Address != "termine@example.de" || s.From.Name != "Salon Müller" ||
		s.TLS != SMTPStartTLS || s.Username != "user" || s.Password != "secret" || s.Insecure {
		t.Errorf("SMTP = %+v", s)
	}
	env := withSMTP()
	env[EnvSMTPHost] = "2001:db8::25"
	env[EnvSMTPTLS] = "Implicit"
	delete(env, EnvSMTPUsername)
	delete(env, EnvSMTPPassword)
	if c, err = Load(lookup(env), NeedAll); err != nil {
		t.Fatal(err)
	}
	if c.SMTP.Addr() != "[2001:db8::25]:587" || c.SMTP.TLS != SMTPImplicit || c.SMTP.Username != "" {
		t.Errorf("SMTP = %+v", c.SMTP)
	}
}

func TestSMTPBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ variable, value string }{
		{EnvSMTPHost, ""},
		{EnvSMTPHost, "smtp.example.com:25"},
		{EnvSMTPHost, "[2001:db8::1]"},
		{EnvSMTPPort, ""},
		{EnvSMTPPort, "0"},
		{EnvSMTPPort, "smtp"},
		{EnvSMTPFrom, ""},
		{EnvSMTPFrom, "not an address"},
		{EnvSMTPTLS, ""},
		{EnvSMTPTLS, "none"},
		{EnvSMTPTLS, "ssl"},
		{EnvSMTPUsername, ""},
		{EnvDevInsecureSMTP, "maybe"},
	} {
		t.Run(tc.variable+"="+tc.value, func(t *testing.T) {
			env := withSMTP()
			env[tc.variable] = tc.value
			_, err := Load(lookup(env), NeedAll)
			if err == nil || !strings.Contains(err.Error(), tc.variable) {
				t.Errorf("err = %v, want one naming %s", err, tc.variable)
			}
		})
	}
	// One set variable alone is a mistake too.
	env := valid()
	env[EnvSMTPPassword] = "secret"
	if _, err := Load(lookup(env), NeedAll); err == nil || !strings.Contains(err.Error(), EnvSMTPHost) {
		t.Errorf("password alone: %v", err)
	}
}

func TestSMTPPlainTextOnlyWithTheDevSwitch(t *testing.T) {
	env := withSMTP()
	env[EnvSMTPTLS] = "none"
	env[EnvDevInsecureSMTP] = "true"
	c, err := Load(lookup(env), NeedAll)
	if err != nil || c.SMTP.TLS != SMTPNone || !c.SMTP.Insecure {
		t.Fatalf("%+v %v", c, err)
	}
}
