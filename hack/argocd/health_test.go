// Package argocd runs the Argo CD health check for slotbook.io/Tenant (health.lua) against its
// test cases (health_test.yaml, in Argo CD's resource_customizations format) in a Lua
// interpreter configured like Argo CD's: gopher-lua with only the base, table, string and math
// libraries, the resource as the global `obj`.
package argocd

import (
	"os"
	"path/filepath"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

// healthTests is Argo CD's health_test.yaml format.
type healthTests struct {
	Tests []struct {
		HealthStatus struct {
			Status  string `json:"status"`
			Message string `json:"message"`
		} `json:"healthStatus"`
		InputPath string `json:"inputPath"`
	} `json:"tests"`
}

// argoHealthStatuses are the values Argo CD accepts from a health script.
var argoHealthStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

func TestHealthLua(t *testing.T) {
	script, err := os.ReadFile("health.lua")
	if err != nil {
		t.Fatal(err)
	}
	var cases healthTests
	if err := yaml.UnmarshalStrict(mustRead(t, "health_test.yaml"), &cases); err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, c := range cases.Tests {
		covered[filepath.Clean(c.InputPath)] = true
		t.Run(c.InputPath, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal(mustRead(t, c.InputPath), &obj); err != nil {
				t.Fatal(err)
			}
			status, message, err := runHealth(string(script), obj)
			if err != nil {
				t.Fatal(err)
			}
			if !argoHealthStatuses[status] {
				t.Errorf("status %q is not one Argo CD knows", status)
			}
			if status != c.HealthStatus.Status || message != c.HealthStatus.Message {
				t.Errorf("got %s %q, want %s %q", status, message, c.HealthStatus.Status, c.HealthStatus.Message)
			}
		})
	}
	// Every Tenant the controller tests produce (controllers/kstatus_test.go) has a case.
	inputs, _ := filepath.Glob("testdata/*.yaml")
	for _, in := range inputs {
		if !covered[in] {
			t.Errorf("%s has no test case in health_test.yaml", in)
		}
	}
	if len(inputs) < 4 {
		t.Errorf("only %d inputs in testdata", len(inputs))
	}
}

// TestHealthLuaIsShippedInExample checks that the argocd-cm example carries this script.
func TestHealthLuaIsShippedInExample(t *testing.T) {
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(mustRead(t, "../../docs/examples/argocd-cm-tenant-health.yaml"), &cm); err != nil {
		t.Fatal(err)
	}
	if got := cm.Data["resource.customizations.health.slotbook.io_Tenant"]; got != string(mustRead(t, "health.lua")) {
		t.Error("docs/examples/argocd-cm-tenant-health.yaml does not hold hack/argocd/health.lua verbatim")
	}
}

// runHealth executes a health script the way Argo CD does and returns its status and message.
func runHealth(script string, obj map[string]any) (string, string, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage}, {lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.fn), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", err
		}
	}
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return "", "", err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", errNoTable
	}
	return lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message")), nil
}

type healthError string

func (e healthError) Error() string { return string(e) }

const errNoTable = healthError("the health script did not return a table")

// toLua converts decoded JSON/YAML into Lua values as Argo CD does (arrays become 1-based
// tables, numbers LNumber).
func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case []any:
		t := l.NewTable()
		for _, item := range v {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]any:
		t := l.NewTable()
		for k, item := range v {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	default:
		panic("unexpected value type")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
