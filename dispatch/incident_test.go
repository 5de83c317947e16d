package dispatch

import (
	"context"
	"errors"
	"testing"

	"pingan/internal/store"
)

// camerasFunc is a function-field fake of CameraLocator.
type camerasFunc func(ctx context.Context, region string) ([]Camera, error)

func (f camerasFunc) Cameras(ctx context.Context, region string) ([]Camera, error) {
	return f(ctx, region)
}

func TestIncidents(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		c := mustCreate(t, svc, xiaodian, newCase("hazard"))
		in, err := svc.CreateIncident(ctx, xiaodian, NewIncident{Case: c.Code, Severity: 2})
		if err != nil || in.Location != c.Location || in.State != IncidentOpen {
			t.Fatalf("create: %v %+v", err, in)
		}
		if _, err := svc.CreateIncident(ctx, xiaodian, NewIncident{Case: c.Code, Severity: 9}); !isKind(err, KindInvalid) {
			t.Fatalf("severity: %v", err)
		}
		if _, err := svc.Incident(ctx, yingze, in.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other county: %v", err)
		}
		in, _ = svc.PinStream(ctx, xiaodian, in.ID, "gb/34020000001320000001")
		in, _ = svc.PinStream(ctx, xiaodian, in.ID, "gb/34020000001320000001")
		in, _ = svc.SetRoom(ctx, xiaodian, in.ID, "room-7")
		in, err = svc.Summon(ctx, xiaodian, in.ID, []DepartmentID{"d1", "d2"})
		if err != nil || len(in.Streams) != 1 || in.Room != "room-7" || len(in.Summons) != 2 {
			t.Fatalf("after pin/room/summon: %v %+v", err, in)
		}
		in, err = svc.CheckIn(ctx, xiaodian, in.ID, "d2")
		if err != nil || in.Summons[1].CheckedInAt.IsZero() || !in.Summons[0].CheckedInAt.IsZero() {
			t.Fatalf("check-in: %v %+v", err, in.Summons)
		}
		if _, err := svc.CheckIn(ctx, xiaodian, in.ID, "d3"); !isKind(err, KindInvalid) {
			t.Fatalf("check-in unsummoned: %v", err)
		}
		in, _ = svc.UnpinStream(ctx, xiaodian, in.ID, "gb/34020000001320000001")
		if len(in.Streams) != 0 {
			t.Fatal("unpin")
		}

		if _, err := svc.NearbyCameras(ctx, xiaodian, in.ID, 500); !errors.Is(err, ErrNoCameraLocator) {
			t.Fatalf("no locator: %v", err)
		}
		svc.SetCameraLocator(camerasFunc(func(_ context.Context, region string) ([]Camera, error) {
			if region != "140105" {
				t.Errorf("asked for region %s", region)
			}
			return []Camera{
				{ID: "far", Lat: 37.81, Lon: 112.56, Region: "140105"},   // ~1.1 km
				{ID: "near", Lat: 37.801, Lon: 112.56, Region: "140105"}, // ~111 m
				{ID: "at", Lat: 37.8, Lon: 112.56, Region: "140105"},
				{ID: "other", Lat: 37.8, Lon: 112.56, Region: "140106"},
			}, nil
		}))
		cams, err := svc.NearbyCameras(ctx, xiaodian, in.ID, 500)
		if err != nil || len(cams) != 2 || cams[0].ID != "at" || cams[1].ID != "near" || cams[1].Distance < 100 || cams[1].Distance > 120 {
			t.Fatalf("nearby: %v %+v", err, cams)
		}
		in, err = svc.CloseIncident(ctx, xiaodian, in.ID)
		if err != nil || in.State != IncidentClosed {
			t.Fatalf("close: %v", err)
		}
		var se *StateError
		if _, err := svc.SetRoom(ctx, xiaodian, in.ID, "x"); !errors.As(err, &se) {
			t.Fatalf("change a closed incident: %v", err)
		}
		list, _ := svc.Incidents(ctx, xiaodian, false, 0)
		open, _ := svc.Incidents(ctx, xiaodian, true, 0)
		if len(list) != 1 || len(open) != 0 {
			t.Fatalf("list %d open %d", len(list), len(open))
		}
		if n := countType(allEvents(t, svc), "incident.summoned", c.Code); n != 1 {
			t.Fatalf("%d summon events", n)
		}
	})
}

func TestDepartments(t *testing.T) {
	forEach(t, func(t *testing.T, st store.Store) {
		svc := newService(t, st, NewFakeClock(t0))
		ctx := context.Background()
		ds, err := svc.Departments(ctx, xiaodian)
		if err != nil || len(ds) != 3 { // d1, d2 in the county; d3 of the city above
			t.Fatalf("%v %+v", err, ds)
		}
		if ds, _ := svc.Departments(ctx, yingze); len(ds) != 1 {
			t.Fatalf("other county sees %+v", ds)
		}
		if _, err := svc.CreateDepartment(ctx, xiaodian, Department{ID: "x", Name: "x", Region: "140105"}); !errors.Is(err, ErrForbidden) {
			t.Fatal(err)
		}
		if _, err := svc.CreateDepartment(ctx, admin, Department{ID: "d1", Name: "x", Region: "140105"}); !isKind(err, KindInvalid) {
			t.Fatalf("duplicate: %v", err)
		}
	})
}

func TestQRPNG(t *testing.T) {
	png, err := QRPNG("140105202611100000001", "https://hub.example/")
	if err == nil || len(png) > 0 {
		t.Fatal("short code accepted")
	}
	png, err = QRPNG("14010520261110000001", "https://hub.example/")
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("%v %d", err, len(png))
	}
	if _, err := QRPNG("14010520261110000001", "javascript:alert(1)"); !isKind(err, KindInvalid) {
		t.Fatal(err)
	}
}
