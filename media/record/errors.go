package record

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrDiskFull means free space on the recording volume fell under
	// Config.MinFreeMB (or a write failed with ENOSPC). The file stays
	// playable up to its last complete fragment.
	ErrDiskFull = errors.New("record: disk space under the configured floor")
	// ErrNoTracks means the stream has no track the recorder can store.
	ErrNoTracks = errors.New("record: no recordable track")
	// ErrClosed is returned by Start after Close.
	ErrClosed = errors.New("record: recorder closed")
	// ErrExists is returned by Start when a recording with the id is running.
	ErrExists = errors.New("record: recording already running")
	// ErrNoMedia means the recording stopped before its first keyframe
	// (or first audio frame, for audio-only streams): the file is empty.
	ErrNoMedia = errors.New("record: no media received")
	// ErrNotMP4 is returned by Repair for a file that does not start with
	// an fMP4 init segment.
	ErrNotMP4 = errors.New("record: not a fragmented MP4 recording")
)
