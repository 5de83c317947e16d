package manscdp

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Node is one XML element: a parsed message or an outgoing one under
// construction. Lookups by name are case-insensitive.
type Node struct {
	Name  string
	Attrs []Attr
	Text  string // character data, trimmed on parse
	Nodes []*Node
}

// Attr is an XML attribute.
type Attr struct {
	Name, Value string
}

// maxDepth bounds element nesting; MANSCDP never goes beyond 5.
const maxDepth = 64

// Get returns the first child named name, or nil. A nil Node has no children.
func (n *Node) Get(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Nodes {
		if strings.EqualFold(c.Name, name) {
			return c
		}
	}
	return nil
}

// All returns the children named name.
func (n *Node) All(name string) []*Node {
	if n == nil {
		return nil
	}
	var out []*Node
	for _, c := range n.Nodes {
		if strings.EqualFold(c.Name, name) {
			out = append(out, c)
		}
	}
	return out
}

// Value returns the text of the descendant at path ("" if absent); with no
// path, the node's own text.
func (n *Node) Value(path ...string) string {
	for _, p := range path {
		n = n.Get(p)
	}
	if n == nil {
		return ""
	}
	return n.Text
}

// Attr returns the value of attribute name ("" if absent).
func (n *Node) Attr(name string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attrs {
		if strings.EqualFold(a.Name, name) {
			return a.Value
		}
	}
	return ""
}

// Add appends a child element with text and returns n, for chaining.
func (n *Node) Add(name, text string) *Node {
	n.Nodes = append(n.Nodes, &Node{Name: name, Text: text})
	return n
}

// Elem appends an empty child element and returns it.
func (n *Node) Elem(name string, attrs ...Attr) *Node {
	c := &Node{Name: name, Attrs: attrs}
	n.Nodes = append(n.Nodes, c)
	return c
}

// parseTree reads the first element of text and its descendants with a
// non-strict decoder (unescaped '&', unknown entities and mismatched end
// tags are tolerated). Anything after the root element is ignored.
func parseTree(text string) (*Node, error) {
	d := xml.NewDecoder(strings.NewReader(text))
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var stack []*Node
	var root *Node
	var texts [][]byte // character data of each open element
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if root != nil && len(stack) == 0 {
				break
			}
			return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: nesting deeper than %d", ErrSyntax, maxDepth)
			}
			n := &Node{Name: t.Name.Local}
			for _, a := range t.Attr {
				n.Attrs = append(n.Attrs, Attr{a.Name.Local, a.Value})
			}
			if len(stack) == 0 {
				if root != nil {
					return root, nil // a second root: ignore it and the rest
				}
				root = n
			} else {
				top := stack[len(stack)-1]
				top.Nodes = append(top.Nodes, n)
			}
			stack = append(stack, n)
			texts = append(texts, nil)
		case xml.CharData:
			if len(stack) > 0 {
				texts[len(texts)-1] = append(texts[len(texts)-1], t...)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			stack[len(stack)-1].Text = strings.TrimSpace(string(texts[len(texts)-1]))
			stack, texts = stack[:len(stack)-1], texts[:len(texts)-1]
			if len(stack) == 0 {
				return root, nil
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrSyntax)
	}
	// Unclosed elements at EOF: keep what was read.
	for i := range stack {
		stack[i].Text = strings.TrimSpace(string(texts[i]))
	}
	return root, nil
}

// Marshal writes root as a MANSCDP body in charset c: an XML declaration,
// then one element per line, as devices expect (GB/T 28181-2016 A.2).
func Marshal(root *Node, c Charset) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "<?xml version=\"1.0\" encoding=\"%s\"?>\r\n", c)
	writeNode(&b, root)
	return encodeText(b.String(), c)
}

func writeNode(b *strings.Builder, n *Node) {
	b.WriteByte('<')
	b.WriteString(n.Name)
	for _, a := range n.Attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name)
		b.WriteString(`="`)
		escape(b, a.Value)
		b.WriteByte('"')
	}
	b.WriteByte('>')
	if len(n.Nodes) > 0 {
		b.WriteString("\r\n")
		for _, c := range n.Nodes {
			writeNode(b, c)
		}
	}
	escape(b, n.Text)
	b.WriteString("</")
	b.WriteString(n.Name)
	b.WriteString(">\r\n")
}

func escape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s)) // strings.Builder never fails
}
