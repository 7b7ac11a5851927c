package extsort

import (
	"cmp"
	"math"
	"slices"
	"unsafe"
)

// maxRecord is the longest record an arena can index.
const maxRecord = math.MaxUint32

// entry locates one record in an arena. Entries hold no pointers, so the
// garbage collector does not scan the index.
type entry struct {
	prefix          uint64 // Options.Prefix of the record, or 0
	chunk, off, len uint32
}

const entrySize = int64(unsafe.Sizeof(entry{}))

// arena holds records in large chunks, in the order they were added, and an
// index over them that sorting reorders. mem counts the bytes of the chunks
// in use and of the index.
type arena struct {
	chunks    [][]byte // in use, filled in order
	free      [][]byte // emptied chunks of chunkSize kept for reuse
	index     []entry
	chunkSize int
	mem       int64
	prefix    func([]byte) uint64
}

func (a *arena) len() int { return len(a.index) }

// rec returns the record that e locates.
func (a *arena) rec(e entry) []byte {
	return a.chunks[e.chunk][e.off : int(e.off)+int(e.len) : int(e.off)+int(e.len)]
}

// cost returns how many more bytes adding a record of n bytes would take.
func (a *arena) cost(n int) int64 {
	var c int64
	if a.spare() < n {
		c += int64(max(a.chunkSize, n))
	}
	if len(a.index) == cap(a.index) {
		c += int64(indexGrowth(cap(a.index))) * entrySize
	}
	return c
}

// spare returns the room left in the last chunk.
func (a *arena) spare() int {
	if len(a.chunks) == 0 {
		return -1
	}
	last := a.chunks[len(a.chunks)-1]
	return cap(last) - len(last)
}

// indexGrowth returns by how many entries a full index of capacity c grows.
func indexGrowth(c int) int { return max(c/2, 64) }

// add copies rec into the arena and indexes it.
func (a *arena) add(rec []byte) {
	if a.spare() < len(rec) {
		a.chunks = append(a.chunks, a.newChunk(len(rec)))
	}
	i := len(a.chunks) - 1
	off := len(a.chunks[i])
	a.chunks[i] = append(a.chunks[i], rec...)
	if len(a.index) == cap(a.index) {
		old := cap(a.index)
		a.index = slices.Grow(a.index, indexGrowth(old))
		a.mem += int64(cap(a.index)-old) * entrySize
	}
	var p uint64
	if a.prefix != nil {
		p = a.prefix(rec)
	}
	a.index = append(a.index, entry{p, uint32(i), uint32(off), uint32(len(rec))})
}

// newChunk returns an empty chunk with room for n bytes.
func (a *arena) newChunk(n int) []byte {
	var c []byte
	if k := len(a.free); k > 0 && n <= a.chunkSize {
		c, a.free = a.free[k-1], a.free[:k-1]
	} else {
		c = make([]byte, 0, max(a.chunkSize, n))
	}
	a.mem += int64(cap(c))
	return c
}

// blockLen is how many entries are sorted together. Sorting blocks whose
// records fit in the CPU caches, then merging the blocks, beats sorting a
// large index at once, where every comparison misses the cache.
const blockLen = 1 << 14

// sort sorts the index by compare in consecutive blocks of blockLen entries,
// which sources then merges. Ties are broken by position in the arena,
// which is the order records were added, so the sort is stable.
// (Consecutive empty records share a position, but they are identical.)
// This is faster than slices.SortStableFunc, which moves entries more.
func (a *arena) sort(compare func(a, b []byte) int) {
	byRecord := func(x, y entry) int {
		if x.prefix != y.prefix {
			return cmp.Compare(x.prefix, y.prefix)
		}
		if c := compare(a.rec(x), a.rec(y)); c != 0 {
			return c
		}
		if x.chunk != y.chunk {
			return cmp.Compare(x.chunk, y.chunk)
		}
		if x.off != y.off {
			return cmp.Compare(x.off, y.off)
		}
		return cmp.Compare(x.len, y.len) // an empty record before the one after it
	}
	for b := range slices.Chunk(a.index, blockLen) {
		slices.SortFunc(b, byRecord)
	}
}

// sources returns the blocks that sort ordered, earliest first.
func (a *arena) sources() []source {
	srcs := make([]source, 0, (len(a.index)+blockLen-1)/blockLen)
	for lo := 0; lo < len(a.index); lo += blockLen {
		srcs = append(srcs, &memSource{a: a, i: lo, end: min(lo+blockLen, len(a.index))})
	}
	return srcs
}

// reset empties the arena, keeping the index and the standard-size chunks
// for reuse.
func (a *arena) reset() {
	for _, c := range a.chunks {
		if cap(c) == a.chunkSize {
			a.free = append(a.free, c[:0])
		}
	}
	clear(a.chunks)
	a.chunks = a.chunks[:0]
	a.index = a.index[:0]
	a.mem = int64(cap(a.index)) * entrySize
}

// memSource reads the records of index[i:end] in order.
type memSource struct {
	a      *arena
	i, end int
}

func (m *memSource) next() ([]byte, bool, error) {
	if m.i == m.end {
		return nil, false, nil
	}
	e := m.a.index[m.i]
	m.i++
	return m.a.rec(e), true, nil
}
