package bolt

import (
	"errors"
	"fmt"
	"math"

	bbolt "go.etcd.io/bbolt"

	"pingan/internal/store"
)

// errTooLarge rejects keys and values bbolt cannot store.
var errTooLarge = errors.New("key, name or value too large")

// recordHeader is the version and expiry stored before a record's value.
const recordHeader = 16

// validate checks every operation of a batch against the transaction's
// state plus the batch's own earlier operations, without writing. bbolt
// has no savepoints, so a batch that shares a transaction with others must
// be refused before its first write, never rolled back after it.
func (t txn) validate(ops []store.Op) error {
	written := make(map[string]uint64) // version after this batch's own writes
	for i, op := range ops {
		if err := t.checkOp(op, written); err != nil {
			return fmt.Errorf("op %d: %w", i, err)
		}
	}
	return nil
}

// checkOp reports why op would fail, if it would. written holds the
// versions the batch's earlier operations leave (nil: a single operation);
// checkOp updates it for op's own write.
func (t txn) checkOp(op store.Op, written map[string]uint64) error {
	switch op.Kind {
	case store.OpCheck:
		_, err := t.checkRecord(op.Key, op.Version, written)
		return err
	case store.OpPut:
		if err := checkName(op.Key, recordHeader+len(op.Value)); err != nil {
			return err
		}
		have, err := t.checkRecord(op.Key, op.Version, written)
		if written != nil && err == nil {
			written[op.Key] = have + 1
		}
		return err
	case store.OpDelete:
		_, err := t.checkRecord(op.Key, op.Version, written)
		if written != nil && err == nil {
			written[op.Key] = 0
		}
		return err
	case store.OpIndexAdd:
		if math.IsNaN(op.Score) {
			return errNaN
		}
		if err := checkName(op.Index, 0); err != nil {
			return err
		}
		return checkName(op.Member, 0)
	case store.OpIndexRemove:
		return nil
	case store.OpAppend:
		return checkName(op.Log, len(op.Value))
	case store.OpNext:
		return checkName(op.Seq, 0)
	default:
		return fmt.Errorf("unknown op kind %d", op.Kind)
	}
}

// checkRecord checks key's version (as written earlier in the batch, else
// as stored) against expect and returns it.
func (t txn) checkRecord(key string, expect uint64, written map[string]uint64) (uint64, error) {
	have, ok := written[key]
	if !ok {
		var err error
		if have, err = t.version(key); err != nil {
			return 0, err
		}
	}
	return have, checkVersion(key, expect, have)
}

// checkName refuses an empty or oversized key or name (the longest, an
// expiry or score key, is 8 bytes longer than the name) and an oversized
// value.
func checkName(name string, valueLen int) error {
	switch {
	case name == "":
		return errEmptyName
	case len(name)+8 > bbolt.MaxKeySize, valueLen > bbolt.MaxValueSize:
		return errTooLarge
	}
	return nil
}
