package dispatch

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"pingan/configs"
	"pingan/internal/store"
)

// caseTypeBodies feed TestDecodeCaseType and seed FuzzDecodeCaseType.
var caseTypeBodies = []struct {
	name, body, field string // field "" = valid
}{
	{"full", `{"id":"noise","name":"噪音扰民","name_en":"Noise","limits":{"accept":"2h","handle":"3d"},"active":true}`, ""},
	{"no limits", `{"id":"x1","name":"其他"}`, ""},
	{"with version", `{"id":"dispute","name":"矛盾纠纷","limits":{"handle":"48h"},"active":true,"version":3}`, ""},
	{"bad id", `{"id":"Bad ID","name":"x"}`, "id"},
	{"long id", `{"id":"` + strings.Repeat("a", 33) + `","name":"x"}`, "id"},
	{"no name", `{"id":"a","name":"  "}`, "name"},
	{"long name", `{"id":"a","name":"` + strings.Repeat("长", 65) + `"}`, "name"},
	{"control in name", `{"id":"a","name":"a\u0007b"}`, "name"},
	{"control in english", `{"id":"a","name":"甲","name_en":"a\nb"}`, "name_en"},
	{"unknown stage", `{"id":"a","name":"甲","limits":{"lunch":"1h"}}`, "limits"},
	{"zero limit", `{"id":"a","name":"甲","limits":{"handle":"0s"}}`, "limits.handle"},
	{"negative limit", `{"id":"a","name":"甲","limits":{"handle":"-1h"}}`, "limits.handle"},
	{"huge limit", `{"id":"a","name":"甲","limits":{"handle":"400d"}}`, "limits.handle"},
	{"bad duration", `{"id":"a","name":"甲","limits":{"handle":"soon"}}`, "body"},
	{"number duration", `{"id":"a","name":"甲","limits":{"handle":3600}}`, "body"},
	{"unknown field", `{"id":"a","name":"甲","colour":"red"}`, "body"},
	{"trailing", `{"id":"a","name":"甲"} {}`, "body"},
	{"not an object", `[1,2]`, "body"},
	{"empty", ``, "body"},
}

func TestDecodeCaseType(t *testing.T) {
	for _, tc := range caseTypeBodies {
		t.Run(tc.name, func(t *testing.T) {
			ct, err := DecodeCaseType([]byte(tc.body))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want ok, got %v", err)
				}
				if ct.Limits == nil {
					t.Error("limits not normalised to an empty map")
				}
				return
			}
			ve, ok := err.(*ValidationError)
			if !ok {
				t.Fatalf("want a *ValidationError on %q, got %v", tc.field, err)
			}
			if ve.Field != tc.field && !(tc.field == "body" && strings.HasPrefix(ve.Field, "limits")) {
				t.Errorf("field %q, want %q (%s)", ve.Field, tc.field, ve.Message)
			}
		})
	}
}

// FuzzDecodeCaseType: no input panics, and whatever decodes encodes and
// decodes back to the same case type.
func FuzzDecodeCaseType(f *testing.F) {
	for _, tc := range caseTypeBodies {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ct, err := DecodeCaseType(body)
		if err != nil {
			if KindOf(err) != KindInvalid {
				t.Fatalf("error of kind %q: %v", KindOf(err), err)
			}
			return
		}
		data, err := json.Marshal(ct)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeCaseType(data)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", data, err)
		}
		if !reflect.DeepEqual(ct, again) {
			t.Fatalf("round trip changed %+v into %+v", ct, again)
		}
	})
}

func TestCaseTypesSeededFromConfig(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		got, err := svc.CaseTypes(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig().CaseTypes
		if len(got) != len(cfg) {
			t.Fatalf("%d types, want the %d configured", len(got), len(cfg))
		}
		for i, ct := range got {
			if ct.ID != cfg[i].ID || ct.Name != cfg[i].Name || !ct.Active || ct.Version != 0 ||
				!reflect.DeepEqual(ct.Limits, cfg[i].Limits) {
				t.Errorf("type %d = %+v, want config %+v", i, ct, cfg[i])
			}
		}
	})
}

// TestCaseTypeEditMovesNewDeadlinesOnly: an admin shortens dispute's accept
// limit; a case registered before keeps its deadline (and its limits for
// later stages), a case registered after gets the new one.
func TestCaseTypeEditMovesNewDeadlinesOnly(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		clk := NewFakeClock(t0)
		svc := newService(t, st, clk)
		before := mustCreate(t, svc, xiaodian, newCase("dispute"))
		if want := t0.Add(2 * time.Hour).UTC(); !before.Deadline.Equal(want) {
			t.Fatalf("deadline before the edit %v, want %v", before.Deadline, want)
		}

		ct, err := svc.CaseType(ctx, "dispute")
		if err != nil {
			t.Fatal(err)
		}
		ct.Limits["accept"] = configs.Duration(30 * time.Minute)
		ct.Limits["route"] = configs.Duration(10 * time.Minute)
		ct.NameEn = "Dispute"
		if _, _, err := svc.SaveCaseType(ctx, xiaodian, ct, false); !isKind(err, KindForbidden) {
			t.Fatalf("operator saved a case type: %v", err)
		}
		saved, prev, err := svc.SaveCaseType(ctx, admin, ct, false)
		if err != nil {
			t.Fatal(err)
		}
		if saved.Version != 1 || prev.Version != 0 || prev.Limits["accept"] != configs.Duration(2*time.Hour) ||
			saved.UpdatedBy != "admin" || saved.NameEn != "Dispute" {
			t.Fatalf("saved %+v, previous %+v", saved, prev)
		}

		clk.Advance(time.Minute)
		after := mustCreate(t, svc, xiaodian, newCase("dispute"))
		if want := clk.Now().Add(30 * time.Minute).UTC(); !after.Deadline.Equal(want) {
			t.Errorf("deadline after the edit %v, want %v", after.Deadline, want)
		}
		if again, _ := svc.Get(ctx, admin, before.Code); !again.Deadline.Equal(before.Deadline) {
			t.Errorf("the older case's deadline moved: %v → %v", before.Deadline, again.Deadline)
		}
		// The older case's next stage still uses the limits it was registered with.
		acc := step(t, svc, before, act(ActAccept))
		if want := clk.Now().Add(4 * time.Hour).UTC(); !acc.Deadline.Equal(want) {
			t.Errorf("older case's route deadline %v, want %v (its own 4h)", acc.Deadline, want)
		}
		acc2 := step(t, svc, after, act(ActAccept))
		if want := clk.Now().Add(10 * time.Minute).UTC(); !acc2.Deadline.Equal(want) {
			t.Errorf("newer case's route deadline %v, want %v", acc2.Deadline, want)
		}

		// A stale version is refused; the current one is accepted.
		ct.Version = 7
		if _, _, err := svc.SaveCaseType(ctx, admin, ct, false); !isKind(err, KindStale) {
			t.Errorf("stale save: %v", err)
		}
		ct.Version = saved.Version
		if s2, _, err := svc.SaveCaseType(ctx, admin, ct, false); err != nil || s2.Version != 2 {
			t.Errorf("save with the current version: %+v %v", s2, err)
		}
	})
}

func TestCaseTypeCreateAndDeactivate(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		svc := newService(t, st, NewFakeClock(t0))
		noise := CaseType{ID: "noise", Name: "噪音扰民", Limits: map[string]configs.Duration{"accept": configs.Duration(time.Hour)}, Active: true}
		if _, _, err := svc.SaveCaseType(ctx, admin, noise, false); !isKind(err, KindNotFound) {
			t.Errorf("update of an unknown type: %v", err)
		}
		if _, _, err := svc.SaveCaseType(ctx, admin, noise, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.SaveCaseType(ctx, admin, noise, true); !isKind(err, KindInvalid) {
			t.Errorf("second create: %v", err)
		}
		if _, _, err := svc.SaveCaseType(ctx, admin, CaseType{ID: "hazard", Name: "x", Active: true}, true); !isKind(err, KindInvalid) {
			t.Errorf("create over a configured type: %v", err)
		}
		all, err := svc.CaseTypes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if last := all[len(all)-1]; last.ID != "noise" || len(all) != len(testConfig().CaseTypes)+1 {
			t.Fatalf("types after create: %+v", all)
		}
		c := mustCreate(t, svc, xiaodian, newCase("noise"))
		if want := t0.Add(time.Hour).UTC(); !c.Deadline.Equal(want) {
			t.Errorf("deadline %v, want %v", c.Deadline, want)
		}

		noise.Active = false
		if _, _, err := svc.SaveCaseType(ctx, admin, noise, false); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Create(ctx, xiaodian, newCase("noise")); !isKind(err, KindInvalid) {
			t.Errorf("case of an inactive type: %v", err)
		}
		// Old cases of the type still move through the workflow.
		step(t, svc, c, act(ActAccept))
	})
}

// TestHotlineSkipsInactiveType: a 12345 order whose category maps to a
// deactivated type gets the first active one.
func TestHotlineSkipsInactiveType(t *testing.T) {
	ctx := context.Background()
	svc := newService(t, openBolt(t), NewFakeClock(t0))
	for _, id := range []string{"petition", "dispute"} {
		ct, err := svc.CaseType(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ct.Active = false
		if _, _, err := svc.SaveCaseType(ctx, admin, ct, false); err != nil {
			t.Fatal(err)
		}
	}
	nc, err := svc.hotlineCase(ctx, &HotlineOrder{Number: "WO1", Category: "投诉", Content: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if nc.Type != "hazard" {
		t.Errorf("type %q, want the first active (hazard)", nc.Type)
	}
}
