package redact

import "math"

// forbidden marks a pair that may not be matched.
var forbidden = math.Inf(1)

// assign solves the rectangular assignment problem on cost[r][c]: it
// returns pairs (r, c) minimising the total cost among assignments that use
// as many allowed pairs as possible, never a forbidden pair. It is the
// O(n²m) potentials form of the Hungarian algorithm, deterministic for a
// given matrix; the tracker sizes are tens, so the cubic cost is nothing.
func assign(cost [][]float64) [][2]int {
	n := len(cost)
	if n == 0 {
		return nil
	}
	m := len(cost[0])
	if m == 0 {
		return nil
	}
	if n > m {
		t := make([][]float64, m)
		for c := range t {
			t[c] = make([]float64, n)
			for r := range n {
				t[c][r] = cost[r][c]
			}
		}
		pairs := assign(t)
		for i := range pairs {
			pairs[i][0], pairs[i][1] = pairs[i][1], pairs[i][0]
		}
		return pairs
	}
	// Forbidden pairs become a cost larger than any full assignment of
	// allowed ones, so maximising the number of allowed pairs comes first.
	big := 1.0
	for _, row := range cost {
		for _, v := range row {
			if !math.IsInf(v, 1) {
				big += math.Abs(v)
			}
		}
	}
	big *= float64(n + 1)
	a := func(r, c int) float64 {
		if math.IsInf(cost[r][c], 1) {
			return big
		}
		return cost[r][c]
	}
	// 1-based arrays as in the classic formulation; p[c] is the row
	// matched to column c, way[] the augmenting path.
	u := make([]float64, n+1)
	v := make([]float64, m+1)
	p := make([]int, m+1)
	way := make([]int, m+1)
	minv := make([]float64, m+1)
	used := make([]bool, m+1)
	for r := 1; r <= n; r++ {
		p[0] = r
		j0 := 0
		for j := range minv {
			minv[j] = math.Inf(1)
			used[j] = false
		}
		for {
			used[j0] = true
			i0, delta, j1 := p[j0], math.Inf(1), 0
			for j := 1; j <= m; j++ {
				if used[j] {
					continue
				}
				cur := a(i0-1, j-1) - u[i0] - v[j]
				if cur < minv[j] {
					minv[j], way[j] = cur, j0
				}
				if minv[j] < delta {
					delta, j1 = minv[j], j
				}
			}
			for j := 0; j <= m; j++ {
				if used[j] {
					u[p[j]] += delta
					v[j] -= delta
				} else {
					minv[j] -= delta
				}
			}
			j0 = j1
			if p[j0] == 0 {
				break
			}
		}
		for j0 != 0 {
			j1 := way[j0]
			p[j0] = p[j1]
			j0 = j1
		}
	}
	var pairs [][2]int
	for c := 1; c <= m; c++ {
		if r := p[c]; r != 0 && !math.IsInf(cost[r-1][c-1], 1) {
			pairs = append(pairs, [2]int{r - 1, c - 1})
		}
	}
	// Row order, so callers see a stable order.
	for i := 1; i < len(pairs); i++ {
		for j := i; j > 0 && pairs[j][0] < pairs[j-1][0]; j-- {
			pairs[j], pairs[j-1] = pairs[j-1], pairs[j]
		}
	}
	return pairs
}
