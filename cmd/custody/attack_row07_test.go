package main

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/custody-evidence/custody/store"
)

// TestAttackRow07NameReusedForANewKey (issue 11, row 7): after `user remove
// nina --force`, `user add nina` with a new key could request nina's old
// clips, and the store then failed verify after only legitimate
// operations. Now the name is not given to another key; where a ledger
// (written by an older custody) did, the new key does not own the old
// clips, and verify names the reuse.
func TestAttackRow07NameReusedForANewKey(t *testing.T) {
	g := newGovAttack(t, true)
	g.key("nina")
	if _, err := g.s.AddUser(g.ctx, g.people["dana"], store.UserSpec{Name: "nina", Role: store.RoleClinician, Key: g.pubs["nina"]}, nil); err != nil {
		t.Fatal(err)
	}
	c := g.importClip("nina", time.Now().Add(-time.Hour))
	if _, err := g.s.RemoveUser(g.ctx, g.people["dana"], "nina", store.RemoveUserOptions{Reason: "left", Force: true}, nil); err != nil {
		t.Fatal(err)
	}
	newKey := g.key("nina-new")
	if _, err := g.s.AddUser(g.ctx, g.people["dana"], store.UserSpec{Name: "nina", Role: store.RoleClinician, Key: newKey}, nil); err == nil {
		t.Errorf("the name nina was given to a new key")
	} else {
		g.sign("dana", "user.add", "", g.registration("dana", "nina", store.RoleClinician, "nina-new"))
	}
	if _, err := g.s.Request(g.ctx, g.people["nina-new"], c.ID, store.RequestOptions{Reason: "r", Incident: "INC-7"}); !errors.Is(err, store.ErrNotOwner) {
		t.Errorf("the new key under nina's name requested nina's old clip: %v", err)
	}
	if codes, _ := g.verifyCodes(); !slices.Contains(codes, "gov-name-reused") {
		t.Errorf("verify: %v, want gov-name-reused", codes)
	}
}
