package sdp

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// offerTCP is the gb28181.md §11 INVITE body.
const offerTCP = "v=0\r\n" +
	"o=51010700002000000001 0 0 IN IP4 10.1.2.3\r\n" +
	"s=Play\r\n" +
	"c=IN IP4 10.1.2.3\r\n" +
	"t=0 0\r\n" +
	"m=video 30042 TCP/RTP/AVP 96\r\n" +
	"a=recvonly\r\n" +
	"a=rtpmap:96 PS/90000\r\n" +
	"a=setup:passive\r\n" +
	"a=connection:new\r\n" +
	"y=0107000042\r\n"

// casesSession drives TestMarshal, TestParse and seeds FuzzParse.
var casesSession = []struct {
	name string
	sess Session
	raw  string // exact Marshal output; Parse(raw) must equal sess
}{
	{
		"live tcp passive",
		Session{Name: "Play", Origin: "51010700002000000001", IP: "10.1.2.3", Media: "video", Port: 30042,
			TCP: true, Setup: "passive", Direction: "recvonly", Formats: []Format{FormatPS}, SSRC: "0107000042"},
		offerTCP,
	},
	{
		"live udp three formats",
		Session{Name: "Play", Origin: "51010700002000000001", IP: "10.1.2.3", Media: "video", Port: 30000,
			Direction: "recvonly", Formats: []Format{FormatPS, FormatMPEG4, FormatH264}, SSRC: "0107000001"},
		"v=0\r\no=51010700002000000001 0 0 IN IP4 10.1.2.3\r\ns=Play\r\nc=IN IP4 10.1.2.3\r\nt=0 0\r\n" +
			"m=video 30000 RTP/AVP 96 97 98\r\na=recvonly\r\na=rtpmap:96 PS/90000\r\na=rtpmap:97 MPEG4/90000\r\n" +
			"a=rtpmap:98 H264/90000\r\ny=0107000001\r\n",
	},
	{
		"playback",
		Session{Name: "Playback", Origin: "51010700002000000001", URI: "51010700001310000023:0", IP: "10.1.2.3",
			Start: 1741392000, Stop: 1741395600, Media: "video", Port: 30002, Direction: "recvonly",
			Formats: []Format{FormatPS}, SSRC: "1107000042", Attrs: []string{"stream:0"}},
		"v=0\r\no=51010700002000000001 0 0 IN IP4 10.1.2.3\r\ns=Playback\r\nu=51010700001310000023:0\r\n" +
			"c=IN IP4 10.1.2.3\r\nt=1741392000 1741395600\r\nm=video 30002 RTP/AVP 96\r\na=recvonly\r\n" +
			"a=rtpmap:96 PS/90000\r\na=stream:0\r\ny=1107000042\r\n",
	},
	{
		"broadcast answer audio",
		Session{Name: "Play", Origin: "51010700002000000001", IP: "10.1.2.3", Media: "audio", Port: 30100,
			TCP: true, Setup: "active", Direction: "sendonly", Formats: []Format{FormatPCMA}, SSRC: "0107000043",
			F: "v/////a/1/8/1"},
		"v=0\r\no=51010700002000000001 0 0 IN IP4 10.1.2.3\r\ns=Play\r\nc=IN IP4 10.1.2.3\r\nt=0 0\r\n" +
			"m=audio 30100 TCP/RTP/AVP 8\r\na=sendonly\r\na=rtpmap:8 PCMA/8000\r\na=setup:active\r\n" +
			"a=connection:new\r\ny=0107000043\r\nf=v/////a/1/8/1\r\n",
	},
}

func TestMarshal(t *testing.T) {
	for _, c := range casesSession {
		t.Run(c.name, func(t *testing.T) {
			if got := string(c.sess.Marshal()); got != c.raw {
				t.Fatalf("got\n%s\nwant\n%s", got, c.raw)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for _, c := range casesSession {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse([]byte(c.raw))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, c.sess) {
				t.Fatalf("got %+v\nwant %+v", *got, c.sess)
			}
			// \n line endings parse the same.
			got2, err := Parse([]byte(strings.ReplaceAll(c.raw, "\r\n", "\n")))
			if err != nil || !reflect.DeepEqual(got, got2) {
				t.Fatalf("LF parse: %+v %v", got2, err)
			}
		})
	}
}

func TestMarshalDefaults(t *testing.T) {
	s := Session{Origin: "51010700002000000001", IP: "10.1.2.3", Port: 30042, TCP: true, SSRC: "0107000042"}
	if got := string(s.Marshal()); got != offerTCP {
		t.Fatalf("got\n%s", got)
	}
}

func TestParseDeviceAnswer(t *testing.T) {
	// A typical device answer: LF endings, extra lines, no rtpmap, no y=.
	body := "v=0\no=51010700001310000023 0 0 IN IP4 192.168.10.64\ns=Play\nc=IN IP4 192.168.10.64\nt=0 0\n" +
		"m=video 15060 TCP/RTP/AVP 96\na=sendonly\na=setup:ACTIVE\na=connection:new\nb=AS:4096\nz=junk\n\x00"
	s, err := Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if s.IP != "192.168.10.64" || s.Port != 15060 || !s.TCP || s.Setup != "active" || s.SSRC != "" ||
		s.Direction != "sendonly" || !s.PS() {
		t.Fatalf("%+v", s)
	}
}

func TestParseErrors(t *testing.T) {
	for _, b := range []string{"", "v=0\r\ns=Play\r\n", "m=video\r\n", "m=video x RTP/AVP 96", "c=IN\r\nm=video 1 RTP/AVP 96", "t=a b\nm=video 1 RTP/AVP 96"} {
		if _, err := Parse([]byte(b)); err == nil {
			t.Fatalf("Parse(%q) accepted", b)
		}
	}
	if _, err := Parse(nil); !errors.Is(err, ErrNoMedia) {
		t.Fatal(err)
	}
}

func TestSSRC(t *testing.T) {
	for _, c := range []struct {
		live   bool
		domain string
		seq    int
		want   string
		value  uint32
	}{
		{true, "5101070000", 42, "0107000042", 0x0660B0EA},
		{false, "5101070000", 42, "1107000042", 1107000042},
		{true, "3402000000", 10042, "0200000042", 200000042},
		{true, "34", -1, "0000009999", 9999},
	} {
		got := SSRC(c.live, c.domain, c.seq)
		if got != c.want {
			t.Fatalf("SSRC(%v,%q,%d) = %s want %s", c.live, c.domain, c.seq, got, c.want)
		}
		v, err := SSRCValue(got)
		if err != nil || v != c.value {
			t.Fatalf("SSRCValue(%s) = %d %v", got, v, err)
		}
		if SSRCString(v) != got {
			t.Fatalf("SSRCString(%d) = %s", v, SSRCString(v))
		}
		if IsLive(got) != c.live {
			t.Fatal("IsLive")
		}
	}
	for _, y := range []string{"", "123", "01070000x2", "9999999999", "-107000042"} {
		if _, err := SSRCValue(y); !errors.Is(err, ErrSSRC) {
			t.Fatalf("SSRCValue(%q) = %v", y, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range casesSession {
		f.Add([]byte(c.raw))
	}
	f.Add([]byte("m=video 1 RTP/AVP\na=rtpmap:96 PS/90000/2\na=rtpmap:x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		// Anything that parses marshals and parses again.
		if _, err := Parse(s.Marshal()); err != nil && !errors.Is(err, ErrSyntax) {
			t.Fatalf("re-parse: %v", err)
		}
	})
}
