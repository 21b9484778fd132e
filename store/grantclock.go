package store

import "time"

// GrantClock is the time requests and grants are judged at when the policy
// clock says policy ($CUSTODY_NOW, or the current time): the later of it
// and the store's clock, as approve and open judge them, so an override
// can show a request lapsing sooner but never revive one.
func (s *Store) GrantClock(policy time.Time) time.Time { return laterOf(s.Now(), policy) }
