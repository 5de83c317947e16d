package store

import "time"

// OpKind tells the operations of a Batch apart.
type OpKind int

// Operation kinds.
const (
	OpCheck       OpKind = iota + 1 // require Key's version == Version
	OpPut                           // write Key=Value if version == Version
	OpDelete                        // delete Key if version == Version
	OpIndexAdd                      // add or rescore Member in Index
	OpIndexRemove                   // remove Member from Index
	OpAppend                        // append Value to Log
	OpNext                          // increment sequence Seq
)

// Op is one operation of a Batch. Backends read it; callers use the Batch methods.
type Op struct {
	Kind    OpKind
	Key     string // record key (Check, Put, Delete)
	Value   []byte // record value (Put) or log entry (Append)
	Version uint64 // expected version (Check, Put, Delete)
	TTL     time.Duration
	Index   string
	Member  string
	Score   float64
	Log     string
	Seq     string
}

// Batch collects operations that Store.Apply performs atomically.
type Batch struct {
	Ops []Op
}

// Check requires the record at key to have version (0 = absent).
func (b *Batch) Check(key string, version uint64) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpCheck, Key: key, Version: version})
	return b
}

// Put writes key if its version equals expect (0 = must not exist, AnyVersion = always).
func (b *Batch) Put(key string, value []byte, expect uint64) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpPut, Key: key, Value: value, Version: expect})
	return b
}

// PutTTL is Put with an expiry.
func (b *Batch) PutTTL(key string, value []byte, expect uint64, ttl time.Duration) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpPut, Key: key, Value: value, Version: expect, TTL: ttl})
	return b
}

// Delete removes key if its version equals expect (AnyVersion = always).
func (b *Batch) Delete(key string, expect uint64) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpDelete, Key: key, Version: expect})
	return b
}

// IndexAdd sets member's score in index.
func (b *Batch) IndexAdd(index, member string, score float64) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpIndexAdd, Index: index, Member: member, Score: score})
	return b
}

// IndexRemove removes member from index (absent is fine).
func (b *Batch) IndexRemove(index, member string) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpIndexRemove, Index: index, Member: member})
	return b
}

// Append adds value to log; Result.Offsets holds the offset.
func (b *Batch) Append(log string, value []byte) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpAppend, Log: log, Value: value})
	return b
}

// Next increments sequence seq; Result.Seqs holds the value.
func (b *Batch) Next(seq string) *Batch {
	b.Ops = append(b.Ops, Op{Kind: OpNext, Seq: seq})
	return b
}

// Result reports what an applied Batch produced, in operation order.
type Result struct {
	Versions []uint64 // new version of each Put, in order
	Offsets  []uint64 // offset of each Append, in order
	Seqs     []uint64 // value of each Next, in order
}
