package web

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/slotbook/slotbook/app/internal/auth/access"
)

const securityDoc = "../../../docs/security.md"

const (
	matrixBegin = "<!-- matrix:begin -->"
	matrixEnd   = "<!-- matrix:end -->"
)

// permissionMatrixDoc is the "Permission matrix" section of docs/security.md, generated from
// access.Permissions, access.ScopeOf and the route table.
func permissionMatrixDoc(routes []route) string {
	var b strings.Builder
	b.WriteString("## Permission matrix\n\n")
	b.WriteString("Generated from `app/internal/auth/access` and the web route table; `TestSecurityDocMatrix` fails when\n")
	b.WriteString("this section differs (regenerate with `SLOTBOOK_UPDATE_DOCS=1 go test ./app/internal/web -run TestSecurityDocMatrix`).\n")
	b.WriteString("**all**: every object; **own**: only objects of the staff member the account is linked to (other\n")
	b.WriteString("objects answer 404, like missing ones); –: refused (403).\n\n")
	b.WriteString("| permission |")
	for _, r := range access.Roles {
		fmt.Fprintf(&b, " %s |", r)
	}
	b.WriteString("\n| --- |")
	for range access.Roles {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, p := range access.Permissions {
		fmt.Fprintf(&b, "| `%s` |", p)
		for _, r := range access.Roles {
			s := access.ScopeOf(r, p).String()
			if s == "none" {
				s = "–"
			}
			fmt.Fprintf(&b, " %s |", s)
		}
		b.WriteString("\n")
	}
	b.WriteString("\nAccounts: owners manage every account; admins manage admins, staff and viewers but never owners\n")
	b.WriteString("(an owner's account answers 404 to their changes); only owners reset another account's MFA.\n")
	b.WriteString("Nobody disables themselves or the last enabled owner.\n\n")
	b.WriteString("### Routes\n\n")
	b.WriteString("Every signed-in route, with the permission it requires (without a session: redirect to\n")
	b.WriteString("`/account/login`). Handlers that load an object check its scope as well.\n\n")
	b.WriteString("| method | path | permission |\n| --- | --- | --- |\n")
	for _, rt := range routes {
		fmt.Fprintf(&b, "| %s | `%s` | `%s` |\n", rt.Method, strings.TrimSuffix(rt.Path, "{$}"), rt.Perm)
	}
	b.WriteString("\nPublic account routes (no session): `GET/POST /account/login`, `GET/POST /account/login/code`,\n")
	b.WriteString("`GET /account/login/enrol`, `POST /account/login/enrol/begin`, `POST /account/login/enrol`,\n")
	b.WriteString("`GET/POST /account/setup/{token}`, `GET/POST /account/reset/{token}`, `GET/POST /account/forgot`.\n")
	return b.String()
}

// TestSecurityDocMatrix: the permission matrix in docs/security.md is the one the code enforces.
func TestSecurityDocMatrix(t *testing.T) {
	a := newTestApp(t)
	want := permissionMatrixDoc(a.h.(*server).protectedRoutes())
	doc, err := os.ReadFile(securityDoc)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, matrixBegin), strings.Index(s, matrixEnd)
	update := os.Getenv("SLOTBOOK_UPDATE_DOCS") != ""
	if i < 0 || j < i {
		if !update {
			t.Fatalf("%s has no %s … %s section", securityDoc, matrixBegin, matrixEnd)
		}
		s = strings.TrimRight(s, "\n")
		if s != "" {
			s += "\n\n"
		}
		s += matrixBegin + "\n" + matrixEnd + "\n"
		i, j = strings.Index(s, matrixBegin), strings.Index(s, matrixEnd)
	}
	got := strings.TrimPrefix(s[i+len(matrixBegin):j], "\n")
	if got == want {
		return
	}
	if update {
		s = s[:i+len(matrixBegin)] + "\n" + want + s[j:]
		if err := os.WriteFile(securityDoc, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("updated %s", securityDoc)
		return
	}
	t.Errorf("the permission matrix in %s is out of date; run SLOTBOOK_UPDATE_DOCS=1 go test ./app/internal/web -run TestSecurityDocMatrix\nwant:\n%s", securityDoc, want)
}
