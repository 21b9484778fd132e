package main

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/custody-evidence/custody/store"
)

// TestAttackRow03SockPuppetDPO (issue 11, row 3): a DPO registers a second
// DPO key that she holds herself, approves her own request with it and
// opens her own clip; verify passed and nothing was flagged. The
// registration is what custody wrote for `user add dana2 --role dpo -i
// dana` before DPOs took two people (testdata/attack/row03 shows the
// command now only proposes). Now the puppet's approval is refused, the
// open with it too, and verify names both the one-person registration and
// the linked approval.
func TestAttackRow03SockPuppetDPO(t *testing.T) {
	g := newGovAttack(t, true)
	g.key("dana2") // dana's second key
	g.sign("dana", "user.add", "", g.registration("dana", "dana2", store.RoleDPO, "dana2"))

	c := g.importClip("dana", time.Now().Add(-time.Hour))
	r, err := g.s.Request(g.ctx, g.people["dana"], c.ID, store.RequestOptions{Reason: "my own footage", Incident: "INC-3"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.s.Approve(g.ctx, g.people["dana2"], r.ID, store.ApproveOptions{})
	if !errors.Is(err, store.ErrSelfApproval) {
		t.Errorf("dana's puppet key approved dana's own request: %v", err)
	}
	if err != nil {
		// The approval as custody wrote it before (no grant: custody
		// refused to make one).
		g.sign("dana2", "approve", c.ID, store.ApprovePayload{Request: r.ID, Requester: r.RequesterKey, ExpiresAt: time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			Statement: g.statement("dana2", "approve", "request "+r.ID, "clip "+c.ID, "requester dana "+r.RequesterKey)})
	}
	if _, err := g.s.OpenClip(g.ctx, c.ID, store.OpenOptions{As: g.people["dana"], Reason: "look", Out: filepath.Join(t.TempDir(), "o.mp4")}); err == nil {
		t.Errorf("dana opened her own clip on her puppet's approval")
	}
	codes, verified := g.verifyCodes()
	for _, want := range []string{"gov-dpo-unseconded", "gov-approval-linked"} {
		if !slices.Contains(codes, want) {
			t.Errorf("verify: %v (verified %v), want %s", codes, verified, want)
		}
	}
	if fl := g.flagged(); !fl["approval-linked"] || !fl["dpo-unseconded"] {
		t.Errorf("log --anomalies flags %v", fl)
	}
}
