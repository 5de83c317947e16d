package signaling

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"pingan/internal/auth"
	"pingan/media/room"
)

// noRooms is a room manager that knows no room.
type noRooms struct{}

func (noRooms) Create(room.CreateOptions) (*room.Room, error) { return nil, room.ErrNotFound }
func (noRooms) Get(room.ID) (*room.Room, bool)                { return nil, false }
func (noRooms) List() []room.Info                             { return nil }

var wsMessageSeeds = []string{
	`{"v":1,"type":"ping","id":"1"}`,
	`{"v":1,"type":"subscribe","id":"2","topics":["cases","case:140105202611240000001"],"after":41}`,
	`{"v":1,"type":"subscribe","topics":[]}`,
	`{"v":1,"type":"unsubscribe","topics":["incidents"]}`,
	`{"v":2,"type":"ping"}`,
	`{"v":1,"type":"room.join","id":"3","data":{"room":"abc","name":"张三"}}`,
	`{"v":1,"type":"room.chat","data":{"text":"你好"}}`,
	`{"v":1,"type":"room.host.mute","data":{"participant":"x"}}`,
	`{"v":1,"type":"room.join","data":"not an object"}`,
	`{"type":"nonsense"}`,
	`[1,2,3]`, `null`, `{`, ``,
}

// FuzzWSMessage: any client message — malformed JSON, unknown types, bad
// room payloads — gets an answer or is ignored; nothing panics.
func FuzzWSMessage(f *testing.F) {
	for _, s := range wsMessageSeeds {
		f.Add([]byte(s))
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		hub := NewWSHub(nil, nil, logger)
		(&RoomWS{Rooms: noRooms{}, Logger: logger}).Register(hub)
		c := newWSConn(hub, nil, auth.Principal{Username: "op", Role: auth.RoleOperator, Region: "140105"})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c.cancel = cancel
		var msg WSMessage
		if err := json.Unmarshal(data, &msg); err != nil {
			c.ReplyError(msg, "malformed", "bad JSON message")
		} else {
			c.dispatch(ctx, msg)
		}
		if len(c.send) == 0 && msg.Type != "" {
			t.Fatalf("message %q got no answer", data)
		}
	})
}
