package store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/custody-evidence/custody/internal/testenv"
	"github.com/custody-evidence/custody/media"
	"github.com/custody-evidence/custody/store"
)

func TestImport(t *testing.T) {
	t.Parallel()
	s, id := newStore(t)
	dir := t.TempDir()
	clip := makeClip(t, filepath.Join(dir, "BWC0042_0001.mp4"))
	os.Chmod(clip, 0o444)
	before, _ := os.Stat(clip)
	origSum := fileSHA256(t, clip)

	var progressed int64
	c, err := s.Import(context.Background(), clip, store.ImportOptions{
		Device: "BWC-0042", Wearer: "J. Smith", Location: "Ward 7", Note: "incident 114",
		Progress: func(n int64) { progressed += n },
	})
	if err != nil {
		t.Fatal(err)
	}

	// The original is untouched.
	after, _ := os.Stat(clip)
	if fileSHA256(t, clip) != origSum || !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() {
		t.Fatal("the original was modified")
	}
	// The clip describes the original.
	if c.Object.SHA256 != origSum || c.Object.Size != before.Size() || progressed != before.Size() {
		t.Fatalf("clip object %+v (progress %d), original sha256 %s size %d", c.Object, progressed, origSum, before.Size())
	}
	if c.Filename != "BWC0042_0001.mp4" || c.Device != "BWC-0042" || c.Wearer != "J. Smith" || c.Location != "Ward 7" || c.Note != "incident 114" {
		t.Fatalf("clip %+v", c.ImportPayload)
	}
	if c.Status != "sealed" || c.ImportedBy != "tester" || len(c.Timeline) != 1 || c.Timeline[0].Action != "import" {
		t.Fatalf("status %q by %q, timeline %+v", c.Status, c.ImportedBy, c.Timeline)
	}
	m := c.Media
	if m == nil || !strings.Contains(m.Container, "mp4") || m.Video == nil || m.Video.Codec != "h264" || m.Video.Width != 160 || m.Video.Height != 120 ||
		m.Video.FPS != 25 || m.Audio == nil || m.Audio.Codec != "aac" || m.Duration < 0.9 || m.Duration > 1.2 {
		t.Fatalf("media %+v video %+v audio %+v", m, m.Video, m.Audio)
	}
	// The sealed file is where the ledger says, with the recorded hash.
	sealed := filepath.Join(s.Dir, filepath.FromSlash(c.Object.Path))
	if c.Object.Path != "objects/"+c.ID+".age" || fileSHA256(t, sealed) != c.Object.CipherSHA256 {
		t.Fatalf("sealed file %s does not match the ledger", c.Object.Path)
	}
	if fi, _ := os.Stat(sealed); fi.Size() != c.Object.CipherSize {
		t.Fatalf("sealed size %d, ledger %d", fi.Size(), c.Object.CipherSize)
	}
	if names := dirNames(t, filepath.Join(s.Dir, store.StagingDir)); len(names) != 0 {
		t.Fatalf("staging not empty: %v", names)
	}
	// The ledger has the import entry, covered by the checkpoint.
	l := ledger(t, s)
	last := l.Last()
	if last.Entry.Action != "import" || last.Entry.Clip != c.ID || last.Entry.Actor.Name != "tester" {
		t.Fatalf("last entry %+v", last.Entry)
	}
	var p store.ImportPayload
	if err := last.Payload(&p); err != nil || p.Object != c.Object || len(p.Recipients) != 1 || p.Recipients[0] != id.Recipient().String() {
		t.Fatalf("payload %+v %v", p, err)
	}
	r := verified(t, s.Dir)
	if r.Checkpoint != l.Len() || r.Objects != 1 {
		t.Fatalf("report %+v", r)
	}
	// Replay finds it again from the ledger alone.
	st := store.Replay(l)
	if got, err := st.Find(c.ID[:6]); err != nil || got.Object != c.Object {
		t.Fatalf("Find: %v", err)
	}
	if bySum := st.BySHA256(origSum); bySum == nil || bySum.ID != c.ID {
		t.Fatal("BySHA256 does not find the clip")
	}
}

// Stock age opens what import sealed, with the recipient's key made by
// stock age-keygen.
func TestImportOpensWithStockAge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, "dpo.key")
	run(t, "age-keygen", "-o", key)
	rec := strings.TrimSpace(run(t, "age-keygen", "-y", key))
	s, err := store.Init(context.Background(), filepath.Join(dir, "store"), store.InitOptions{Recipients: []string{rec}, Passphrase: []byte(testPass), WorkFactor: testWorkFactor})
	if err != nil {
		t.Fatal(err)
	}
	clip := makeClip(t, filepath.Join(dir, "a.mp4"))
	c, err := s.Import(context.Background(), clip, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.mp4")
	run(t, "age", "-d", "-i", key, "-o", out, filepath.Join(s.Dir, c.Object.Path))
	if fileSHA256(t, out) != fileSHA256(t, clip) {
		t.Fatal("stock age gave different content")
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(testenv.Tool(t, name), args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func TestImportRefusals(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	dir := t.TempDir()
	clip := makeClip(t, filepath.Join(dir, "first.mp4"))
	first, err := s.Import(context.Background(), clip, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	copyOf := filepath.Join(dir, "renamed copy.mp4")
	os.WriteFile(copyOf, readFile(t, clip), 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("Patient said the camera was on.\nSecond line.\n"), 0o644)
	empty := filepath.Join(dir, "empty.mp4")
	os.WriteFile(empty, nil, 0o644)
	fifo := filepath.Join(dir, "pipe.mp4")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	random := filepath.Join(dir, "random.mp4")
	os.WriteFile(random, pseudoRandom(100_000), 0o644)

	var dup *store.DuplicateError
	cases := []struct {
		name  string
		path  string
		check func(error) bool
	}{
		{"duplicate", clip, func(err error) bool {
			return errors.As(err, &dup) && dup.Existing == first.ID && dup.SHA256 == first.Object.SHA256
		}},
		{"duplicate under another name", copyOf, func(err error) bool { return errors.As(err, &dup) && dup.Existing == first.ID }},
		{"text file", text, func(err error) bool { return errors.Is(err, media.ErrNotMedia) }},
		{"random bytes named .mp4", random, func(err error) bool { return errors.Is(err, media.ErrNotMedia) }},
		{"zero bytes", empty, func(err error) bool { return errors.Is(err, store.ErrEmpty) }},
		{"directory", dir, func(err error) bool { return errors.Is(err, store.ErrNotRegular) }},
		{"named pipe", fifo, func(err error) bool { return errors.Is(err, store.ErrNotRegular) }},
		{"missing", filepath.Join(dir, "missing.mp4"), func(err error) bool { return errors.Is(err, fs.ErrNotExist) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, s.Dir)
			got, err := s.Import(context.Background(), c.path, store.ImportOptions{})
			if err == nil || !c.check(err) {
				t.Fatalf("Import returned %v, %v", got, err)
			}
			var ie *store.InputError
			if !errors.As(err, &ie) || ie.Path != c.path {
				t.Errorf("error %v does not name the input", err)
			}
			if !strings.Contains(err.Error(), c.path) {
				t.Errorf("message %q does not name the file", err)
			}
			if after := snapshot(t, s.Dir); after != before {
				t.Fatalf("refused import changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	if !strings.Contains(dup.Error(), first.ID) {
		t.Errorf("duplicate message %q does not name clip %s", dup.Error(), first.ID)
	}
	verified(t, s.Dir)
}

// Still images are refused: the store holds footage, and ffprobe's one
// "video frame" of a photograph must not pass for a recording.
func TestImportStillImage(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	for _, name := range []string{"still.png", "still.jpg"} {
		img := filepath.Join(t.TempDir(), name)
		ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=64x48", "-frames:v", "1", img)
		_, err := s.Import(context.Background(), img, store.ImportOptions{})
		if !errors.Is(err, media.ErrNotMedia) || !strings.Contains(err.Error(), "still image") {
			t.Fatalf("%s: got %v, want a still-image refusal", name, err)
		}
	}
	verified(t, s.Dir)
}

// Damaged recordings are evidence too: an MP4 cut off before its moov was
// written (a camera whose battery died) and a faststart MP4 cut at half
// are sealed byte for byte and marked damaged, with the duration that
// decodes. (A file that is not a recording is refused: TestImportRefusals.)
func TestImportDamaged(t *testing.T) {
	t.Parallel()
	s, id := newStore(t)
	dir := t.TempDir()
	plain := makeClip(t, filepath.Join(dir, "plain.mp4"), "-t", "4")
	fast := makeClip(t, filepath.Join(dir, "fast.mp4"), "-t", "4", "-movflags", "+faststart")
	pb, fb := readFile(t, plain), readFile(t, fast)
	moovAt := bytes.LastIndex(pb, []byte("moov")) - 4
	nomoov := filepath.Join(dir, "BWC_dead_battery.mp4")
	os.WriteFile(nomoov, pb[:moovAt], 0o444)
	half := filepath.Join(dir, "BWC_cut.mp4")
	os.WriteFile(half, fb[:len(fb)/2], 0o444)
	// The first 200 bytes of a recording are still (a scrap of) one.
	scrap := filepath.Join(dir, "scrap.mp4")
	os.WriteFile(scrap, pb[:200], 0o444)

	for _, tc := range []struct {
		path      string
		reason    string
		decodable float64
		declared  float64
		video     bool
	}{
		{nomoov, "no moov box", 0, 0, false},
		{half, "truncated at byte " + strconv.Itoa(len(fb)/2), 2, 4, true},
		{scrap, "no moov box, truncated at byte 200", 0, 0, false},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			orig := readFile(t, tc.path)
			before, _ := os.Stat(tc.path)
			c, err := s.Import(context.Background(), tc.path, store.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			m := c.Media
			if m == nil || !m.Damaged || m.Damage == nil || !strings.Contains(m.Damage.Reason, tc.reason) || (m.Video != nil) != tc.video {
				t.Fatalf("media %+v damage %+v", m, m.Damage)
			}
			if math.Abs(m.Duration-tc.decodable) > 0.3 || math.Abs(m.Damage.DecodableDuration-tc.decodable) > 0.3 ||
				math.Abs(m.Damage.DeclaredDuration-tc.declared) > 0.1 {
				t.Fatalf("duration %.2f, damage %+v; want %.1f s of %.1f s", m.Duration, m.Damage, tc.decodable, tc.declared)
			}
			if len(m.Damage.Read) == 0 || len(m.Damage.Unreadable) == 0 {
				t.Fatalf("damage does not say what could and could not be read: %+v", m.Damage)
			}
			if !strings.Contains(c.Timeline[0].Summary, "DAMAGED") {
				t.Fatalf("timeline %q does not say the clip is damaged", c.Timeline[0].Summary)
			}
			// Sealed as received: the plaintext is the damaged file, byte
			// for byte, and the original is untouched.
			f, err := os.Open(filepath.Join(s.Dir, c.Object.Path))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := age.Decrypt(f, id)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(r)
			if !bytes.Equal(got, orig) || c.Object.Size != int64(len(orig)) {
				t.Fatal("the sealed plaintext is not the file as received")
			}
			if after, _ := os.Stat(tc.path); !bytes.Equal(readFile(t, tc.path), orig) || !after.ModTime().Equal(before.ModTime()) {
				t.Fatal("the original was modified")
			}
		})
	}
	// The ledger alone says so too.
	st := store.Replay(ledger(t, s))
	if len(st.Order) != 3 {
		t.Fatalf("%d clips", len(st.Order))
	}
	for _, id := range st.Order {
		if c := st.Clips[id]; !c.Media.Damaged {
			t.Fatalf("clip %s not damaged after replay", id)
		}
	}
	// A hold around an incident 3 s in still finds the cut clip, of which
	// 2 s decode but 4 s were recorded.
	cut := st.Clips[st.Order[1]]
	start, _ := time.Parse(time.RFC3339Nano, cut.RecordedAt)
	at := start.Add(3 * time.Second)
	if got := st.Overlapping(at, at); len(got) != 1 || got[0].ID != cut.ID {
		t.Fatalf("Overlapping(+3s) = %v, want the cut clip", got)
	}
	verified(t, s.Dir)
}

func TestImportAudioOnly(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	wav := filepath.Join(t.TempDir(), "interview.wav")
	ffmpeg(t, "-f", "lavfi", "-i", "sine=frequency=300", "-t", "1", wav)
	c, err := s.Import(context.Background(), wav, store.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Media.Audio == nil || c.Media.Video != nil || c.Media.Container != "wav" {
		t.Fatalf("media %+v", c.Media)
	}
}

func TestImportRecordedAt(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	dir := t.TempDir()
	tagged := makeClip(t, filepath.Join(dir, "tagged.mp4"), "-metadata", "creation_time=2024-05-06T07:08:09.000000Z")
	plain := variant(t, tagged, filepath.Join(dir, "plain.mp4"), 1) // -map_metadata -1 drops creation_time
	mtime := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(plain, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	flagged := variant(t, tagged, filepath.Join(dir, "flagged.mp4"), 2)
	flagTime := time.Date(2025, 12, 24, 18, 0, 0, 0, time.FixedZone("CET", 3600))

	cases := []struct {
		path   string
		opts   store.ImportOptions
		at     time.Time
		source string
	}{
		{tagged, store.ImportOptions{}, time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), "container"},
		{plain, store.ImportOptions{}, mtime, "mtime"},
		{flagged, store.ImportOptions{RecordedAt: flagTime}, flagTime, "flag"},
	}
	for _, c := range cases {
		t.Run(c.source, func(t *testing.T) {
			clip, err := s.Import(context.Background(), c.path, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := time.Parse(time.RFC3339Nano, clip.RecordedAt)
			if err != nil || !got.Equal(c.at) || clip.RecordedAtSource != c.source || !strings.HasSuffix(clip.RecordedAt, "Z") {
				t.Fatalf("recorded at %q (%s), want %s (%s)", clip.RecordedAt, clip.RecordedAtSource, c.at.UTC().Format(time.RFC3339), c.source)
			}
		})
	}
	// The flag wins over the container's time.
	ffmpeg(t, "-i", tagged, "-c", "copy", "-metadata", "creation_time=2020-01-01T00:00:00Z", "-metadata", "comment=x", filepath.Join(dir, "both.mp4"))
	c, err := s.Import(context.Background(), filepath.Join(dir, "both.mp4"), store.ImportOptions{RecordedAt: flagTime})
	if err != nil {
		t.Fatal(err)
	}
	if c.RecordedAtSource != "flag" || c.Media.Created == nil || c.Media.Created.Year() != 2020 {
		t.Fatalf("source %s, container time %v", c.RecordedAtSource, c.Media.Created)
	}
}

// Several writers at once, each with its own store handle (as separate
// processes would have): all imports land and the chain stays linear.
func TestConcurrentImports(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	dir := t.TempDir()
	base := makeClip(t, filepath.Join(dir, "base.mp4"))
	const n = 6
	paths := make([]string, n)
	for i := range paths {
		paths[i] = variant(t, base, filepath.Join(dir, "v"+string(rune('a'+i))+".mp4"), i)
	}
	handles := make([]*store.Store, n)
	for i := range handles {
		handles[i] = reopen(t, s.Dir)
	}
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := handles[i].Import(context.Background(), paths[i], store.ImportOptions{Note: paths[i]})
			errs[i] = err
			if err == nil {
				ids[i] = c.ID
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("import %d: %v", i, err)
		}
	}
	l := ledger(t, s)
	st := store.Replay(l)
	if len(st.Clips) != n {
		t.Fatalf("%d clips, want %d", len(st.Clips), n)
	}
	for i, rec := range l.Records {
		if rec.Entry.Seq != uint64(i) || (i > 0 && rec.Entry.Prev != l.Records[i-1].Hash()) {
			t.Fatalf("entry %d out of chain", i)
		}
	}
	for i, id := range ids {
		if st.Clips[id] == nil || st.Clips[id].Note != paths[i] {
			t.Fatalf("clip %s for %s missing", id, paths[i])
		}
	}
	verified(t, s.Dir)
}

// The same file imported by several writers at once is stored once; the
// others are refused as duplicates of the one that won.
func TestConcurrentDuplicateImports(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	clip := makeClip(t, filepath.Join(t.TempDir(), "a.mp4"))
	const n = 4
	handles := make([]*store.Store, n)
	for i := range handles {
		handles[i] = reopen(t, s.Dir)
	}
	var wg sync.WaitGroup
	res := make([]*store.Clip, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = handles[i].Import(context.Background(), clip, store.ImportOptions{})
		}()
	}
	wg.Wait()
	var winner string
	for i := range n {
		if errs[i] == nil {
			if winner != "" {
				t.Fatalf("imported twice: %s and %s", winner, res[i].ID)
			}
			winner = res[i].ID
		}
	}
	if winner == "" {
		t.Fatalf("no import succeeded: %v", errs)
	}
	for i := range n {
		var dup *store.DuplicateError
		if errs[i] != nil && (!errors.As(errs[i], &dup) || dup.Existing != winner) {
			t.Fatalf("import %d: %v, want a duplicate of %s", i, errs[i], winner)
		}
	}
	if got := dirNames(t, filepath.Join(s.Dir, store.ObjectsDir)); len(got) != 1 {
		t.Fatalf("objects: %v", got)
	}
	if got := dirNames(t, filepath.Join(s.Dir, store.StagingDir)); len(got) != 0 {
		t.Fatalf("staging: %v", got)
	}
	verified(t, s.Dir)
}

// A cancelled import leaves nothing behind.
func TestImportCancelled(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	clip := makeClip(t, filepath.Join(t.TempDir(), "a.mp4"))
	before := snapshot(t, s.Dir)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := s.Import(ctx, clip, store.ImportOptions{Progress: func(int64) { cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if snapshot(t, s.Dir) != before {
		t.Fatal("cancelled import changed the store")
	}
	verified(t, s.Dir)
}

// A recording that changes while it is being read (a camera still
// writing it) is refused and nothing is kept.
func TestImportFileChanging(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	path := filepath.Join(t.TempDir(), "growing.mkv")
	ffmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "2", "-c:v", "rawvideo", "-pix_fmt", "yuv420p", path)
	before := snapshot(t, s.Dir)
	appended := false
	_, err := s.Import(context.Background(), path, store.ImportOptions{Progress: func(int64) {
		if !appended {
			appended = true
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				panic(err)
			}
			f.Write(make([]byte, 4096))
			f.Close()
		}
	}})
	if !errors.Is(err, store.ErrChanged) {
		t.Fatalf("got %v, want ErrChanged", err)
	}
	if snapshot(t, s.Dir) != before {
		t.Fatal("a refused import changed the store")
	}
}

func pseudoRandom(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
