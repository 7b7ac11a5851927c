package sync

import (
	"slices"
)

// The hash diff holds millions of small fixed-size entries (hashes of rows),
// partitioned by the top byte of a 64-bit hash: each partition sorts within
// the CPU caches, and growing never copies more than a block.

// hashBuckets collects values in 256 buckets, each a list of blocks that
// double up to maxBlock values: growing never copies, and the slack is
// under one block a bucket.
type hashBuckets[T any] struct {
	b    [256][][]T
	n    int64
	free [][]T // full-size blocks released by take, for add to reuse
}

const maxBlock = 4096

// add adds v to the bucket of hash h.
func (hb *hashBuckets[T]) add(h uint64, v T) {
	blocks := &hb.b[h>>56]
	k := len(*blocks)
	if k == 0 || len((*blocks)[k-1]) == cap((*blocks)[k-1]) {
		size := 16
		if k > 0 {
			size = min(2*cap((*blocks)[k-1]), maxBlock)
		}
		if f := len(hb.free); size == maxBlock && f > 0 {
			*blocks = append(*blocks, hb.free[f-1][:0])
			hb.free = hb.free[:f-1]
		} else {
			*blocks = append(*blocks, make([]T, 0, size))
		}
		k++
	}
	(*blocks)[k-1] = append((*blocks)[k-1], v)
	hb.n++
}

// take returns the values of bucket i in the order they were added, in
// dst's memory if it is large enough, and releases the bucket's blocks:
// the full-size ones are kept for add to reuse.
func (hb *hashBuckets[T]) take(i int, dst []T) []T {
	dst = dst[:0]
	for _, b := range hb.b[i] {
		dst = append(dst, b...)
		if cap(b) == maxBlock {
			hb.free = append(hb.free, b)
		}
	}
	hb.b[i] = nil
	return dst
}

// drop releases the buckets from i on, returning how many values they held.
func (hb *hashBuckets[T]) drop(i int) int64 {
	var n int64
	for ; i < 256; i++ {
		for _, b := range hb.b[i] {
			n += int64(len(b))
			if cap(b) == maxBlock {
				hb.free = append(hb.free, b)
			}
		}
		hb.b[i] = nil
	}
	hb.n -= n
	return n
}

// radixSort sorts a by key (of which the top byte is the same for all, the
// bucket's), keeping the order of equal keys: an LSD radix sort on the seven
// other bytes, with tmp as scratch of at least len(a). It returns the sorted
// values, in a's memory or in tmp's.
func radixSort[T any](a, tmp []T, key func(*T) uint64) []T {
	if len(a) < 32 {
		slices.SortStableFunc(a, func(x, y T) int {
			kx, ky := key(&x), key(&y)
			switch {
			case kx < ky:
				return -1
			case kx > ky:
				return 1
			}
			return 0
		})
		return a
	}
	src, dst := a, tmp[:len(a)]
	for shift := 0; shift < 56; shift += 8 {
		var count [256]int
		for i := range src {
			count[byte(key(&src[i])>>shift)]++
		}
		if count[byte(key(&src[0])>>shift)] == len(src) {
			continue // one digit: nothing moves
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for i := range src {
			d := byte(key(&src[i]) >> shift)
			dst[count[d]] = src[i]
			count[d]++
		}
		src, dst = dst, src
	}
	return src
}

// sortHashes is radixSort of hashes: the same sort, three times as fast
// as the generic one through its key function (60 ms for ten million).
func sortHashes(a, tmp []uint64) []uint64 {
	if len(a) < 32 {
		slices.Sort(a)
		return a
	}
	src, dst := a, tmp[:len(a)]
	for shift := 0; shift < 56; shift += 8 {
		var count [256]int
		for _, h := range src {
			count[byte(h>>shift)]++
		}
		if count[byte(src[0]>>shift)] == len(src) {
			continue
		}
		sum := 0
		for d, c := range count {
			count[d] = sum
			sum += c
		}
		for _, h := range src {
			d := byte(h >> shift)
			dst[count[d]] = h
			count[d]++
		}
		src, dst = dst, src
	}
	return src
}

// bloom is a filter of hashes with two bits a hash: it rules out hashes
// that are not in a set, in memory that stays in the CPU caches.
type bloom struct{ bits bitset }

const bloomBits = 22 // 512 KiB

func newBloom() bloom { return bloom{newBitset(1 << bloomBits)} }

func (f bloom) add(h uint64) {
	f.bits.set(int(h & (1<<bloomBits - 1)))
	f.bits.set(int(h >> bloomBits & (1<<bloomBits - 1)))
}

func (f bloom) has(h uint64) bool {
	return f.bits != nil && f.bits.has(int(h&(1<<bloomBits-1))) && f.bits.has(int(h>>bloomBits&(1<<bloomBits-1)))
}

// mergeRuns walks o and n, both sorted by key, and calls fn with the run
// of each key on both sides (one of them may be empty), in key order.
func mergeRuns[T any](o, n []T, key func(*T) uint64, fn func(h uint64, o, n []T)) {
	i, j := 0, 0
	for i < len(o) || j < len(n) {
		var h uint64
		switch {
		case i == len(o):
			h = key(&n[j])
		case j == len(n):
			h = key(&o[i])
		default:
			h = min(key(&o[i]), key(&n[j]))
		}
		i0, j0 := i, j
		for i < len(o) && key(&o[i]) == h {
			i++
		}
		for j < len(n) && key(&n[j]) == h {
			j++
		}
		fn(h, o[i0:i], n[j0:j])
	}
}

// bitset is a set of small integers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) has(i int) bool { return b[i/64]&(1<<(i%64)) != 0 }
func (b bitset) set(i int)      { b[i/64] |= 1 << (i % 64) }
