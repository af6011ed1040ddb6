// Command filedeps draws which file of a Go package uses which: an edge from
// a file to each other file of the package that declares something it uses
// (a function, type, variable, constant, method or field). It orders the
// files so that as few uses as possible run from a lower file up to a higher
// one: files that use each other in a cycle (a strongly connected component)
// are ordered among themselves to the fewest upward uses, exactly for up to
// 9 files, else with the greedy heuristic of Eades, Lin and Smyth. It prints
// the files in layers, lowest first, then every upward use with the names
// it uses.
//
//	cd tools && go run ./filedeps ..
package main

import (
	"fmt"
	"go/ast"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax | packages.NeedTypes |
		packages.NeedTypesInfo, Dir: dir}
	pkgs, err := packages.Load(cfg, ".")
	if err != nil || packages.PrintErrors(pkgs) > 0 {
		fmt.Fprintln(os.Stderr, "filedeps: cannot load the package:", err)
		os.Exit(1)
	}
	pkg := pkgs[0]
	uses := fileUses(pkg)
	files := make([]string, 0, len(uses))
	for file := range uses {
		files = append(files, file)
	}
	sort.Strings(files)
	order := bestOrder(files, uses)
	rank := make(map[string]int, len(order))
	for i, file := range order {
		rank[file] = len(order) - 1 - i // sinks (used by others, using none) lowest
	}
	layer := layers(order, rank, uses)
	maxLayer := 0
	for _, l := range layer {
		maxLayer = max(maxLayer, l)
	}
	fmt.Printf("package %s: %d files in %d layers (non-test files; an edge is a file using a name another declares)\n",
		pkg.Name, len(files), maxLayer+1)
	for l := maxLayer; l >= 0; l-- {
		var in []string
		for _, file := range files {
			if layer[file] == l {
				in = append(in, file)
			}
		}
		fmt.Printf("  layer %2d: %s\n", l, strings.Join(in, " "))
	}
	var upward []string
	for _, from := range files {
		for to, names := range uses[from] {
			if rank[to] > rank[from] {
				upward = append(upward, fmt.Sprintf("  %s -> %s: %s", from, to, strings.Join(names, ", ")))
			}
		}
	}
	sort.Strings(upward)
	fmt.Printf("%d uses from a lower file up to a higher one:\n%s\n", len(upward), strings.Join(upward, "\n"))
}

// fileUses maps each file to the files whose declarations it uses, with the names used.
func fileUses(pkg *packages.Package) map[string]map[string][]string {
	declaredIn := func(obj types.Object) string {
		if obj == nil || obj.Pkg() != pkg.Types || !obj.Pos().IsValid() {
			return ""
		}
		return filepath.Base(pkg.Fset.Position(obj.Pos()).Filename)
	}
	uses := map[string]map[string][]string{}
	for _, file := range pkg.Syntax {
		name := filepath.Base(pkg.Fset.Position(file.Pos()).Filename)
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		uses[name] = map[string][]string{}
		ast.Inspect(file, func(n ast.Node) bool {
			id, ok := n.(*ast.Ident)
			if !ok {
				return true
			}
			obj := pkg.TypesInfo.Uses[id]
			if obj == nil {
				return true
			}
			// Only package-level names, methods and fields: not locals.
			if _, isVar := obj.(*types.Var); isVar && !obj.(*types.Var).IsField() && obj.Parent() != pkg.Types.Scope() {
				return true
			}
			if obj.Parent() != nil && obj.Parent() != pkg.Types.Scope() {
				return true
			}
			to := declaredIn(obj)
			if to == "" || to == name || strings.HasSuffix(to, "_test.go") {
				return true
			}
			if !slices.Contains(uses[name][to], obj.Name()) {
				uses[name][to] = append(uses[name][to], obj.Name())
			}
			return true
		})
	}
	for _, targets := range uses {
		for to := range targets {
			sort.Strings(targets[to])
		}
	}
	return uses
}

// bestOrder orders the files, those used first last: the components of
// files that use each other in topological order, each ordered to the fewest
// uses from a file to one before it.
func bestOrder(files []string, uses map[string]map[string][]string) []string {
	var order []string
	for _, component := range components(files, uses) {
		if len(component) <= 9 {
			order = append(order, exactOrder(component, uses)...)
		} else {
			order = append(order, improved(eadesOrder(component, uses), uses)...)
		}
	}
	return order
}

// components returns the strongly connected components of the use graph
// (Tarjan), users before what they use.
func components(files []string, uses map[string]map[string][]string) [][]string {
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var found [][]string
	var visit func(f string)
	visit = func(f string) {
		index[f], low[f] = len(index), len(index)
		stack = append(stack, f)
		onStack[f] = true
		targets := make([]string, 0, len(uses[f]))
		for to := range uses[f] {
			targets = append(targets, to)
		}
		sort.Strings(targets)
		for _, to := range targets {
			if _, seen := index[to]; !seen {
				visit(to)
				low[f] = min(low[f], low[to])
			} else if onStack[to] {
				low[f] = min(low[f], index[to])
			}
		}
		if low[f] == index[f] {
			var component []string
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				component = append(component, top)
				if top == f {
					break
				}
			}
			sort.Strings(component)
			found = append(found, component)
		}
	}
	for _, f := range files {
		if _, seen := index[f]; !seen {
			visit(f)
		}
	}
	slices.Reverse(found) // Tarjan finds what is used first
	return found
}

// exactOrder tries every order of a small component and keeps the one with
// the fewest uses from a file to one before it.
func exactOrder(component []string, uses map[string]map[string][]string) []string {
	best, bestBack := slices.Clone(component), -1
	perm := slices.Clone(component)
	var try func(k int)
	try = func(k int) {
		if k == len(perm) {
			if back := backUses(perm, uses); bestBack < 0 || back < bestBack {
				best, bestBack = slices.Clone(perm), back
			}
			return
		}
		for i := k; i < len(perm); i++ {
			perm[k], perm[i] = perm[i], perm[k]
			try(k + 1)
			perm[k], perm[i] = perm[i], perm[k]
		}
	}
	try(0)
	return best
}

// backUses counts the uses from a file to one before it in order.
func backUses(order []string, uses map[string]map[string][]string) int {
	back := 0
	for i := range order {
		for j := range i {
			if _, ok := uses[order[i]][order[j]]; ok {
				back++
			}
		}
	}
	return back
}

// improved moves one file at a time to the place with the fewest uses to
// a file before it, until no move helps.
func improved(order []string, uses map[string]map[string][]string) []string {
	best := backUses(order, uses)
	for moved := true; moved; {
		moved = false
		for i := range order {
			for j := range order {
				candidate := slices.Insert(slices.Delete(slices.Clone(order), i, i+1), j, order[i])
				if back := backUses(candidate, uses); back < best {
					order, best, moved = candidate, back, true
				}
			}
		}
	}
	return order
}

// eadesOrder orders the files so that most edges point forward (from a
// file to one after it): sources first, sinks last, and of the rest the one
// with the most outgoing minus incoming edges next.
func eadesOrder(files []string, uses map[string]map[string][]string) []string {
	left := map[string]bool{}
	for _, f := range files {
		left[f] = true
	}
	degree := func(f string) (in, out int) {
		for to := range uses[f] {
			if left[to] {
				out++
			}
		}
		for _, from := range files {
			if left[from] && from != f {
				if _, ok := uses[from][f]; ok {
					in++
				}
			}
		}
		return in, out
	}
	var head, tail []string
	for len(left) > 0 {
		changed := true
		for changed {
			changed = false
			for _, f := range files {
				if !left[f] {
					continue
				}
				if in, out := degree(f); out == 0 {
					tail = append([]string{f}, tail...)
					delete(left, f)
					changed = true
				} else if in == 0 {
					head = append(head, f)
					delete(left, f)
					changed = true
				}
			}
		}
		best, bestDelta := "", 0
		for _, f := range files {
			if !left[f] {
				continue
			}
			in, out := degree(f)
			if best == "" || out-in > bestDelta {
				best, bestDelta = f, out-in
			}
		}
		if best != "" {
			head = append(head, best)
			delete(left, best)
		}
	}
	return append(head, tail...)
}

// layers gives each file a layer: 0 for a file that uses only files of no
// rank above... the longest chain of downward uses below it.
func layers(order []string, rank map[string]int, uses map[string]map[string][]string) map[string]int {
	layer := map[string]int{}
	for i := len(order) - 1; i >= 0; i-- { // lowest rank first
		f := order[i]
		for to := range uses[f] {
			if rank[to] < rank[f] {
				layer[f] = max(layer[f], layer[to]+1)
			}
		}
	}
	return layer
}
