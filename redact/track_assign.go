package redact

import (
	"math"
	"sort"
)

// forbidden marks a pair that may not be matched.
var forbidden = math.Inf(1)

// assign solves the rectangular assignment problem on cost[r][c]: it
// returns pairs (r, c), in row order, minimising the total cost among
// assignments that use as many allowed pairs as possible, never a forbidden
// pair. Rows and columns that share no allowed pair do not interact, so the
// problem is split into the connected components of the allowed pairs and
// each is solved on its own: a whiteboard full of text lines is many tiny
// problems, not one cubic one.
func assign(cost [][]float64) [][2]int {
	n := len(cost)
	if n == 0 || len(cost[0]) == 0 {
		return nil
	}
	m := len(cost[0])
	// Union-find over rows 0..n-1 and columns n..n+m-1.
	parent := make([]int, n+m)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for r := range n {
		for c := range m {
			if !math.IsInf(cost[r][c], 1) {
				if a, b := find(r), find(n+c); a != b {
					parent[max(a, b)] = min(a, b)
				}
			}
		}
	}
	// Components in order of their smallest member, so the result does not
	// depend on map order.
	comp := map[int]int{}
	var rows, cols [][]int
	for i := range n + m {
		root := find(i)
		k, ok := comp[root]
		if !ok {
			k = len(rows)
			comp[root] = k
			rows, cols = append(rows, nil), append(cols, nil)
		}
		if i < n {
			rows[k] = append(rows[k], i)
		} else {
			cols[k] = append(cols[k], i-n)
		}
	}
	var pairs [][2]int
	for k := range rows {
		if len(rows[k]) == 0 || len(cols[k]) == 0 {
			continue
		}
		sub := make([][]float64, len(rows[k]))
		for a, r := range rows[k] {
			sub[a] = make([]float64, len(cols[k]))
			for b, c := range cols[k] {
				sub[a][b] = cost[r][c]
			}
		}
		for _, p := range hungarian(sub) {
			pairs = append(pairs, [2]int{rows[k][p[0]], cols[k][p[1]]})
		}
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	return pairs
}

// hungarian is the O(n²m) potentials form of the Hungarian algorithm,
// deterministic for a given matrix, with the contract of assign.
func hungarian(cost [][]float64) [][2]int {
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
		pairs := hungarian(t)
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
	return pairs
}
