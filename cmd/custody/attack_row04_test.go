package main

import (
	"slices"
	"testing"
	"time"

	"github.com/custody-evidence/custody/store"
)

// TestAttackRow04EarlyPurgeFailsVerify (issue 11, row 4): with CUSTODY_NOW
// a month ahead the station (or a DPO) purged a clip recorded an hour ago,
// and verify --store passed. Now purge keeps it (the real clock decides
// too), and a tombstone such as custody wrote before, or anyone with the
// station key could, fails verify (gov-purge-early) and is flagged as a
// clock override.
func TestAttackRow04EarlyPurgeFailsVerify(t *testing.T) {
	g := newGovAttack(t, false)
	c := g.importClip("", time.Now().Add(-time.Hour))
	future := time.Now().Add(30 * 24 * time.Hour)
	for _, as := range []*store.Person{g.people["dana"], nil} {
		if _, err := g.s.Purge(g.ctx, as, store.PurgeOptions{Now: future}); err != nil {
			t.Fatal(err)
		}
	}
	if st := g.state().Clips[c.ID]; st.Status == store.StatusPurged {
		t.Errorf("clip %s, recorded an hour ago, was purged under a policy clock a month ahead", c.ID)
	} else {
		st := g.state()
		cl := st.Clips[c.ID]
		g.sign("", "purge", c.ID, store.PurgePayload{Reason: store.PurgeRetention, PolicyTime: future.UTC().Format(time.RFC3339), RecordedAt: cl.RecordedAt,
			ExpiresAt: cl.ExpiresAt, Retention: st.Policy.Retention, SHA256: cl.Object.SHA256})
	}
	codes, verified := g.verifyCodes()
	if verified || !slices.Contains(codes, "gov-purge-early") {
		t.Errorf("verify after a purge days before retention ends: verified %v, %v", verified, codes)
	}
	if fl := g.flagged(); !fl["clock-override"] || !fl["purge-early"] {
		t.Errorf("log --anomalies flags %v", fl)
	}
}
