package bidi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const (
	// readLimit bounds one message; full-page screenshots arrive as
	// base64 in one message and run to a few MB.
	readLimit    = 64 << 20
	writeTimeout = 10 * time.Second
	sendQueue    = 64
)

// Event is one event from the remote end.
type Event struct {
	Method string
	Params json.RawMessage
}

// Conn is a WebDriver BiDi connection: one goroutine reads (and routes
// results to their callers by command id), one writes.
type Conn struct {
	ws      *websocket.Conn
	log     *slog.Logger
	onEvent func(Event)
	nextID  atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan Message
	err     error // why the connection ended; set before done closes

	chSend    chan []byte
	done      chan struct{} // closed when the reader has stopped
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Dial connects to a BiDi endpoint (ws://host:port/session). onEvent (may
// be nil) runs on the reader goroutine for every event and must not block.
func Dial(ctx context.Context, url string, log *slog.Logger, onEvent func(Event)) (*Conn, error) {
	if log == nil {
		log = slog.Default()
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, res, err := d.DialContext(ctx, url, nil)
	if res != nil && res.Body != nil {
		res.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("bidi: dial %s: %w", url, err)
	}
	ws.SetReadLimit(readLimit)
	if onEvent == nil {
		onEvent = func(Event) {}
	}
	c := &Conn{
		ws: ws, log: log.With("bidi", url), onEvent: onEvent,
		pending: make(map[uint64]chan Message),
		chSend:  make(chan []byte, sendQueue),
		done:    make(chan struct{}),
	}
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	return c, nil
}

// Call sends one command and waits for its result, which it decodes into
// out (when out is not nil). ctx bounds the wait.
func (c *Conn) Call(ctx context.Context, method string, params, out any) error {
	if params == nil {
		params = struct{}{}
	}
	id := c.nextID.Add(1)
	b, err := json.Marshal(command{ID: id, Method: method, Params: params})
	if err != nil {
		return fmt.Errorf("bidi: %s: encode: %w", method, err)
	}
	ch := make(chan Message, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return fmt.Errorf("bidi: %s: %w", method, err)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	select {
	case c.chSend <- b:
	case <-ctx.Done():
		return fmt.Errorf("bidi: %s: %w", method, ctx.Err())
	case <-c.done:
		return fmt.Errorf("bidi: %s: %w", method, c.closedErr())
	}
	select {
	case m := <-ch:
		if m.Type == typeError {
			return &CommandError{Method: method, Code: m.Error, Message: m.ErrMessage}
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, out); err != nil {
			return fmt.Errorf("bidi: %s: decode result: %w", method, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bidi: %s: %w", method, ctx.Err())
	case <-c.done:
		return fmt.Errorf("bidi: %s: %w", method, c.closedErr())
	}
}

// Done is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close ends the connection and waits for its goroutines.
func (c *Conn) Close() error {
	c.stop(ErrClosed)
	c.wg.Wait()
	return nil
}

func (c *Conn) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// stop records why the connection ended (first reason wins) and closes
// the socket, which ends the reader; the reader then closes done.
func (c *Conn) stop(reason error) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		if c.err == nil {
			c.err = reason
		}
		c.mu.Unlock()
		_ = c.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = c.ws.Close()
	})
}

func (c *Conn) readLoop() {
	defer c.wg.Done()
	defer close(c.done)
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			if !errors.Is(c.closedErr(), ErrClosed) {
				c.log.Debug("bidi read ended", "err", err)
			}
			c.stop(fmt.Errorf("%w: %w", ErrClosed, err))
			return
		}
		m, err := DecodeMessage(b)
		if err != nil {
			c.log.Warn("bidi: dropping a bad message", "err", err, "len", len(b))
			continue
		}
		c.route(m)
	}
}

func (c *Conn) route(m Message) {
	if m.Type == typeEvent {
		c.onEvent(Event{Method: m.Method, Params: m.Params})
		return
	}
	if m.ID == nil {
		// An error about a message the remote end could not parse: ours
		// are well-formed, so this is worth a line.
		c.log.Warn("bidi: error without a command id", "error", m.Error, "message", m.ErrMessage)
		return
	}
	c.mu.Lock()
	ch := c.pending[*m.ID]
	c.mu.Unlock()
	if ch == nil {
		c.log.Debug("bidi: result for no waiting command (timed out?)", "id", *m.ID)
		return
	}
	select {
	case ch <- m:
	default: // a duplicate id: the first answer stands
	}
}

func (c *Conn) writeLoop() {
	defer c.wg.Done()
	for {
		select {
		case b := <-c.chSend:
			_ = c.ws.SetWriteDeadline(time.Now().Add(writeTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.stop(fmt.Errorf("%w: write: %w", ErrClosed, err))
				return
			}
		case <-c.done:
			return
		}
	}
}
