package signaling

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"pingan/internal/store"
	"pingan/media"
)

// Store layout of saved wall layouts: one record per user holding all of
// that user's layouts (at most MaxLayouts × 16 tiles, under 0.5 MB), so the
// per-user limit is kept by one compare-and-set write.
const layoutKeyPrefix = "wall/layouts/" // record wall/layouts/{username}: layoutSet as JSON

// Wall layout limits.
const (
	MaxLayouts        = 50       // per user
	MaxLayoutStreamID = 256      // bytes
	MaxLayoutLabel    = 256      // bytes
	MaxLayoutName     = 64       // runes
	layoutBodyLimit   = 64 << 10 // bytes of one PUT body
	layoutWriteTries  = 8        // compare-and-set attempts before 409
)

// layoutSizes are the wall's grids (1×1, 2×2, 3×3, 4×4).
var layoutSizes = []int{1, 4, 9, 16}

// LayoutTile is what one wall tile shows.
type LayoutTile struct {
	Stream media.StreamID `json:"stream"`
	Label  string         `json:"label,omitempty"`
}

// WallLayout is a saved video wall: the grid size and, per tile in reading
// order, the stream it plays (null = an empty tile).
type WallLayout struct {
	Name    string        `json:"name"`
	Size    int           `json:"size"`
	Tiles   []*LayoutTile `json:"tiles"`
	Updated time.Time     `json:"updated,omitzero"`
}

// layoutBody is the JSON body of PUT /api/v1/me/layouts/{name}.
type layoutBody struct {
	Size  int           `json:"size"`
	Tiles []*LayoutTile `json:"tiles"`
}

// layoutSet is the stored record: a user's layouts sorted by name.
type layoutSet struct {
	Layouts []WallLayout `json:"layouts"`
}

// LayoutsAPI keeps each user's saved video wall layouts in the store, so
// they follow the user to any workstation (GET/PUT/DELETE
// /api/v1/me/layouts). Any signed-in user has their own; room guests none.
type LayoutsAPI struct {
	st store.Store
	// locks serialise one user's writes on this node (striped by user), so
	// compare-and-set conflicts come only from other nodes.
	locks [64]sync.Mutex
}

// NewLayoutsAPI keeps layouts in st.
func NewLayoutsAPI(st store.Store) *LayoutsAPI { return &LayoutsAPI{st: st} }

// Routes registers the endpoints.
func (a *LayoutsAPI) Routes(rt *Router) {
	rt.Handle("GET /api/v1/me/layouts", a.list)
	rt.Handle("PUT /api/v1/me/layouts/{name}", a.put)
	rt.Handle("DELETE /api/v1/me/layouts/{name}", a.remove)
}

// errTooManyLayouts is the answer when a user already has MaxLayouts.
var errTooManyLayouts = Errorf(http.StatusUnprocessableEntity, "too_many_layouts",
	"at most %d saved layouts; delete one first", MaxLayouts)

func (a *LayoutsAPI) list(w http.ResponseWriter, r *http.Request) {
	user, ok := layoutOwner(w, r)
	if !ok {
		return
	}
	set, _, err := a.load(r.Context(), user)
	if err != nil {
		WriteError(w, r, StoreError(err))
		return
	}
	WriteJSON(w, http.StatusOK, set)
}

func (a *LayoutsAPI) put(w http.ResponseWriter, r *http.Request) {
	user, ok := layoutOwner(w, r)
	if !ok {
		return
	}
	name, err := checkLayoutName(r.PathValue("name"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	body, err := readBody(w, r, layoutBodyLimit)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	l, err := DecodeLayout(body)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	l.Name, l.Updated = name, time.Now().UTC()
	created := false
	err = a.update(r.Context(), user, func(set *layoutSet) error {
		i, found := slices.BinarySearchFunc(set.Layouts, name, func(x WallLayout, n string) int { return cmp.Compare(x.Name, n) })
		switch {
		case found:
			set.Layouts[i], created = l, false
		case len(set.Layouts) >= MaxLayouts:
			return errTooManyLayouts
		default:
			set.Layouts, created = slices.Insert(set.Layouts, i, l), true
		}
		return nil
	})
	if err != nil {
		WriteError(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	WriteJSON(w, status, l)
}

func (a *LayoutsAPI) remove(w http.ResponseWriter, r *http.Request) {
	user, ok := layoutOwner(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	err := a.update(r.Context(), user, func(set *layoutSet) error {
		i := slices.IndexFunc(set.Layouts, func(x WallLayout) bool { return x.Name == name })
		if i < 0 {
			return ErrNotFound
		}
		set.Layouts = slices.Delete(set.Layouts, i, i+1)
		return nil
	})
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// layoutOwner is the caller's username; principals without one (none
// reach here today) are refused.
func layoutOwner(w http.ResponseWriter, r *http.Request) (string, bool) {
	u := caller(r).Username
	if u == "" {
		WriteError(w, r, ErrForbidden)
		return "", false
	}
	return u, true
}

// load reads a user's layouts and the record's version (0 = none saved).
func (a *LayoutsAPI) load(ctx context.Context, user string) (layoutSet, uint64, error) {
	set := layoutSet{Layouts: []WallLayout{}}
	rec, err := a.st.Get(ctx, layoutKeyPrefix+user)
	if errors.Is(err, store.ErrNotFound) {
		return set, 0, nil
	}
	if err != nil {
		return set, 0, fmt.Errorf("layouts: load %s: %w", user, err)
	}
	if err := json.Unmarshal(rec.Value, &set); err != nil {
		return set, 0, fmt.Errorf("layouts: decode %s: %w", user, err)
	}
	if set.Layouts == nil {
		set.Layouts = []WallLayout{}
	}
	return set, rec.Version, nil
}

// update applies edit to the user's layouts with a compare-and-set write,
// retrying when another request wrote in between. An error from edit is
// returned as is; store errors become API errors.
func (a *LayoutsAPI) update(ctx context.Context, user string, edit func(*layoutSet) error) error {
	h := fnv.New32a()
	_, _ = h.Write([]byte(user))
	mu := &a.locks[h.Sum32()%uint32(len(a.locks))]
	mu.Lock()
	defer mu.Unlock()
	for try := range layoutWriteTries {
		if try > 0 { // another node wrote: back off a little, with jitter
			select {
			case <-time.After(time.Duration(1+rand.IntN(4<<try)) * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		set, version, err := a.load(ctx, user)
		if err != nil {
			return StoreError(err)
		}
		if err := edit(&set); err != nil {
			return err
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // keeps the record within ~9 KB per layout
		if err := enc.Encode(set); err != nil {
			return fmt.Errorf("layouts: encode %s: %w", user, err)
		}
		_, err = a.st.Put(ctx, layoutKeyPrefix+user, buf.Bytes(), version, 0)
		if !errors.Is(err, store.ErrConflict) {
			if err != nil {
				return StoreError(fmt.Errorf("layouts: save %s: %w", user, err))
			}
			return nil
		}
	}
	return StoreError(store.ErrConflict)
}

// checkLayoutName accepts 1 to MaxLayoutName characters of printable
// UTF-8 without surrounding spaces or slashes (the name is a path segment).
func checkLayoutName(name string) (string, error) {
	switch {
	case name == "" || strings.TrimSpace(name) != name:
		return "", Errorf(http.StatusUnprocessableEntity, "invalid", "a layout name is 1-%d characters without surrounding spaces", MaxLayoutName)
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxLayoutName:
		return "", Errorf(http.StatusUnprocessableEntity, "invalid", "a layout name is at most %d characters of UTF-8", MaxLayoutName)
	case strings.ContainsRune(name, '/') || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return "", Errorf(http.StatusUnprocessableEntity, "invalid", "a layout name has no slashes or control characters")
	}
	return name, nil
}

// DecodeLayout reads the body of PUT /api/v1/me/layouts/{name}: 400 for
// malformed JSON, unknown fields or trailing data; 422 when the grid size
// is not 1/4/9/16, there are more tiles than the grid holds, or a stream
// id or label is empty, too long or not printable UTF-8.
func DecodeLayout(body []byte) (WallLayout, error) {
	var in layoutBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return WallLayout{}, Errorf(http.StatusBadRequest, "malformed", "bad JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return WallLayout{}, Errorf(http.StatusBadRequest, "malformed", "trailing data after the JSON value")
	}
	bad := func(format string, args ...any) (WallLayout, error) {
		return WallLayout{}, Errorf(http.StatusUnprocessableEntity, "invalid", format, args...)
	}
	if !slices.Contains(layoutSizes, in.Size) {
		return bad("size: want 1, 4, 9 or 16, got %d", in.Size)
	}
	if len(in.Tiles) > in.Size {
		return bad("tiles: %d tiles do not fit a grid of %d", len(in.Tiles), in.Size)
	}
	for i, t := range in.Tiles {
		if t == nil {
			continue
		}
		switch {
		case t.Stream == "" || len(t.Stream) > MaxLayoutStreamID || !printable(string(t.Stream)):
			return bad("tiles[%d].stream: want 1-%d bytes of printable UTF-8", i, MaxLayoutStreamID)
		case len(t.Label) > MaxLayoutLabel || !printable(t.Label):
			return bad("tiles[%d].label: want at most %d bytes of printable UTF-8", i, MaxLayoutLabel)
		}
	}
	if in.Tiles == nil {
		in.Tiles = []*LayoutTile{}
	}
	return WallLayout{Size: in.Size, Tiles: in.Tiles}, nil
}

func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}
