package redact

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteAssign finds, by exhaustive search, the largest number of allowed
// pairs and the least total cost among assignments with that many.
func bruteAssign(cost [][]float64) (pairs int, total float64) {
	n, m := len(cost), len(cost[0])
	usedCol := make([]bool, m)
	best, bestCost := -1, math.Inf(1)
	var rec func(r, k int, c float64)
	rec = func(r, k int, c float64) {
		if r == n {
			if k > best || (k == best && c < bestCost-1e-12) {
				best, bestCost = k, c
			}
			return
		}
		rec(r+1, k, c) // row r unmatched
		for j := 0; j < m; j++ {
			if usedCol[j] || math.IsInf(cost[r][j], 1) {
				continue
			}
			usedCol[j] = true
			rec(r+1, k+1, c+cost[r][j])
			usedCol[j] = false
		}
	}
	rec(0, 0, 0)
	return best, bestCost
}

func TestAssignMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 2000; iter++ {
		n, m := 1+rng.IntN(7), 1+rng.IntN(7)
		pForbid := rng.Float64()
		cost := make([][]float64, n)
		for r := range cost {
			cost[r] = make([]float64, m)
			for c := range cost[r] {
				if rng.Float64() < pForbid {
					cost[r][c] = forbidden
				} else {
					cost[r][c] = rng.Float64() * 2
				}
			}
		}
		for name, got := range map[string][][2]int{"assign": assign(cost), "hungarian": hungarian(cost)} {
			checkAssignment(t, name, iter, cost, got)
		}
	}
}

func checkAssignment(t *testing.T, name string, iter int, cost [][]float64, got [][2]int) {
	t.Helper()
	{
		n, m := len(cost), len(cost[0])
		seenR, seenC := map[int]bool{}, map[int]bool{}
		var total float64
		for _, p := range got {
			if seenR[p[0]] || seenC[p[1]] {
				t.Fatalf("%s iter %d: row or column used twice in %v", name, iter, got)
			}
			seenR[p[0]], seenC[p[1]] = true, true
			if math.IsInf(cost[p[0]][p[1]], 1) {
				t.Fatalf("%s iter %d: forbidden pair %v chosen", name, iter, p)
			}
			total += cost[p[0]][p[1]]
		}
		wantN, wantCost := bruteAssign(cost)
		if len(got) != wantN || math.Abs(total-wantCost) > 1e-9 {
			t.Fatalf("%s iter %d: %dx%d got %d pairs cost %.6f, want %d pairs cost %.6f\n%v",
				name, iter, n, m, len(got), total, wantN, wantCost, cost)
		}
		for i := 1; i < len(got) && name == "assign"; i++ {
			if got[i][0] <= got[i-1][0] {
				t.Fatalf("%s iter %d: pairs not in row order: %v", name, iter, got)
			}
		}
	}
}

func TestAssignEmpty(t *testing.T) {
	if got := assign(nil); got != nil {
		t.Errorf("assign(nil) = %v", got)
	}
	if got := assign([][]float64{{}}); got != nil {
		t.Errorf("assign(1x0) = %v", got)
	}
	if got := assign([][]float64{{forbidden, forbidden}}); len(got) != 0 {
		t.Errorf("all forbidden: %v", got)
	}
}
