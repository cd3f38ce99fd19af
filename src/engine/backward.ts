/**
 * The backward pass's machinery: in what order it visits a graph, and what it may skip.
 *
 * What it computes is simple (see `Value.backward`): visit the interior nodes so that every node
 * comes before its operands, and add grad(node) × ∂node/∂operand into each operand. How it finds
 * that order is where the time goes on large graphs, so:
 * - The order comes from serial numbers (see storage.ts), in one sweep with no separate search:
 *   a node's users are at smaller serial distances from the root, so they have all been visited
 *   before its place comes. Gradients are summed by place in a ring of scratch entries that spans
 *   only the places met but not yet visited, so its size follows the graph's width, not its length.
 * - Where a graph begins as a path (each node with at most one operand that is not a leaf, as in a
 *   chain or a small net's loss), the pass walks it with no order to find, and the ring takes over
 *   from the first node with two operands to follow.
 * - Serials are checked on every edge; where they fail to order the graph (after wrapping around
 *   2³⁰), the pass is undone and run again over a depth-first post-order.
 * - Below a node whose gradient is exactly 0 nothing changes, so the pass skips it where that is
 *   invisible (see `since` in storage.ts).
 * - Leaves sum each pass's shares from +0 on their own, then add that sum to their earlier grad
 *   once: a second `backward()` gives exactly twice, and a failed pass leaves them as they were.
 */
import { NonFiniteError, formatOperand, type OperandInfo } from './errors.js';
import { OP_NAMES, type OpName } from './ops.js';
import { touch as touchImport, lastWrap as lastWrapImport, passCount as passCountImport, LAYOUT } from './storage.js';
import type { Value } from './value.js';
import { beginTapePass, checkAlive, needsOrdinary, nextTapePass, tape } from './scope.js';

// The node layout (storage.ts), as constants of this module: see LAYOUT there.
const { CONSTANT, BINARY, CONST_A, CONST_B, NARY, TAPE, SERIAL, DATA, GRAD, D0, D1, SINCE, SLOT, WORDS, CHUNK } = LAYOUT;
const LOG_CHUNK = Math.log2(CHUNK);
/** Where node `v`'s numbers start in `v._n` (storage.ts's `at`, local for the same reason). */
const at = (v: { _s: number }): number => (v._s & SLOT) * WORDS;
// Storage's functions as module-local constants, for the same reason (see functions.ts).
const touch = touchImport, lastWrap = lastWrapImport, passCount = passCountImport;

// Backward.
//
// One pass visits the interior nodes in an order that puts every node before its operands, so
// that a node's gradient is complete when it is passed on. Each node has a place in that order; a
// scratch array holds the gradients by place, and `places` the nodes.
//
// The places come for free from serial numbers: a node is made after its operands, so its serial
// distance from the root is greater than that of every node that uses it. The pass then finds the
// graph as it goes: a node's users, at smaller places, have all been visited before its place is
// reached. Serials are checked on every edge; if they fail to order the graph (after wrapping around
// 2³⁰), the pass is undone and run again over places given by a depth-first post-order, which each
// node then holds in `_mark` as ~place. A leaf's `_mark` holds the number of the pass that last met it
// (positive), or inside a scope its place in the scope's list of leaves (negative; scope.ts relies on
// this module never writing a negative mark on a leaf).

// The scratch arrays cover a window of serial distances, at most this much beyond 8× the nodes
// placed so far; a node met farther away waits in a short list until the pass gets near it, and the
// window then jumps to it. So a pass costs time in proportion to its graph, not to how long ago a
// node of it was made.
const WINDOW = 1 << 16;

// The window is a ring: place d lives at index d & mask. Places behind the one being visited are
// done, so the ring needs only the span from there to the farthest place yet met, not the whole
// graph's: a chain of 2×10⁷ nodes is swept with a ring of a few entries. It doubles when a node is
// met beyond its reach.
//
// A pass on a ring of the starting size gets a new one: the old one has long been promoted to V8's
// old generation, and storing a young node into an old array takes the write barrier's slow path
// (a remembered-set entry, about 60 instructions: 4 % of W1's step). A young array of 16 costs less
// to allocate than that. A larger ring is kept from pass to pass and allocates nothing.
const RING = 16;

// The pass's scratch state: fields of one module-local constant, not module `let`s, which V8 reads
// through the module's context with a check that they are initialised at every use after a call
// (W1: 8,981 → 8,492 instructions a step, with storage's functions read as constants too; README,
// issue #17's sixth round).
const scratch = {
  pass: 0,
  stack: [] as (Value | null)[],
  /** Interior nodes by place, with gaps: null or holes (undefined) between passes. */
  places: new Array(RING) as (Value | null)[],
  /** Their gradients, by place. */
  gradAt: new Float64Array(RING),
  /** Place d is at d & mask in both. */
  mask: RING - 1,
  /** Depth-first post-order (topologicalOrder and the fallback). */
  order: [] as (Value | null)[],
  // Nodes met beyond the window: each one's serial distance and gradient so far. While listed here,
  // a node's `_mark` holds its index in the list.
  far: [] as (Value | null)[],
  farDist: [] as number[],
  farGrad: [] as number[],
  farCount: 0,
  /** The most ring entries the pass in progress has needed (or nodes, in the fallback). */
  peak: 0,
  // Leaves met by the current pass. Each sums the pass's shares in its own D0 word, which a leaf
  // does not otherwise use, and gets the sum added to its grad once the pass has succeeded.
  leafList: [] as (Value | null)[],
  leafCount: 0,
};

function nextPass(): number {
  scratch.pass = scratch.pass === SERIAL ? 1 : scratch.pass + 1;
  return scratch.pass;
}

/** Adds `share` into leaf `v`'s sum for the pass numbered `stamp`, which starts at +0 where the pass first meets it. */
function addToLeaf(v: Value, share: number, stamp: number): void {
  const num = v._n, i = at(v);
  if (v._mark !== stamp) {
    v._mark = stamp;
    num[i + D0] = 0;
    scratch.leafList[scratch.leafCount++] = v;
  }
  num[i + D0] += share;
}

/**
 * Passes gradients from `root` (whose own is 1) to everything it depends on; leaves get this
 * pass's sums in their D0 words (see `leafList`). With `record`, lists the interior
 * nodes in the order visited instead of setting their grads, and checks no local derivative.
 */
function pushGradients(root: Value, record: Value[] | null): void {
  scratch.leafCount = 0;
  if (sweep(root, -1, record)) return;
  if (record !== null) record.length = 0; // the failed pass's nodes
  const n = collect(root, false);
  scratch.peak = Math.max(scratch.peak, n);
  if (n > scratch.places.length) resizeRing(n, 0, -1);
  for (let k = 0; k < n; k++) {
    const v = scratch.order[n - 1 - k]!;
    scratch.places[k] = v;
    v._mark = ~k;
  }
  release(scratch.order, n);
  sweep(root, n - 1, record);
}

/**
 * The pass itself. With `last` < 0 it places nodes by serial distance, and on finding that it
 * cannot, it undoes what it did to leaves and `places` and returns false. Otherwise nodes
 * 0..`last` are already in `places` and their places in `_mark`.
 */
function sweep(root: Value, last: number, record: Value[] | null): boolean {
  const bySerial = last < 0;
  const stamp = nextPass();
  // Graphs whose `since` is `untouched` may be skipped below a zero gradient (see SINCE); a pass
  // that writes grads, even one that fails, makes every graph made before it count as touched.
  let untouched = -2;
  if (record === null) {
    if (root._n[at(root) + SINCE]! >= lastWrap()) untouched = passCount();
    touch();
  }
  // A path first: while the node at hand has at most one operand that is not a leaf, that operand
  // is the only node it passes a gradient to, and nothing else in the graph does (every node before
  // it had it as its one such operand), so the next node's gradient is complete. The walk needs no
  // places and no order; the loop below takes over, from the node at hand, where two operands are
  // to be followed. The same nodes in the same order, so the same sums to the last bit.
  let start = root, startGrad = 1;
  if (bySerial) {
    for (;;) {
      const form = start._kind & 7;
      if (form === NARY) break;
      const a = start._a!, b = form === BINARY ? (start._b as Value) : null;
      const aLeaf = (a._kind & 7) <= CONSTANT, bLeaf = b === null || (b._kind & 7) <= CONSTANT;
      if (!aLeaf && !bLeaf) break;
      const num = start._n, i = at(start), g = startGrad;
      if (record === null) num[i + GRAD] = g + 0; // + 0: see the loop below
      else record.push(start);
      if (g === 0 && num[i + SINCE] === untouched) return true; // it passes on only zeros
      const da = num[i + D0]!;
      if (da - da !== 0 && record === null) throw nonFiniteDerivative(start, 0, da);
      let next: Value | null = null;
      if (aLeaf) {
        addToLeaf(a, g * da, stamp);
      } else {
        next = a;
        startGrad = g * da;
      }
      if (b !== null) {
        const db = num[i + D1]!;
        if (db - db !== 0 && record === null) throw nonFiniteDerivative(start, 1, db);
        if (bLeaf) {
          addToLeaf(b, g * db, stamp);
        } else {
          next = b;
          startGrad = g * db;
        }
      }
      if (next === null) return true;
      start = next;
    }
  }
  const top = start._s;
  // The ring in locals: V8 reads `scratch`'s fields afresh after every call it does not inline (module
  // `let`s, as these were, cost about a quarter of this loop's instructions on a small graph). Re-read
  // them after every resizeRing(), which replaces the ring.
  if (bySerial && scratch.places.length === RING) scratch.places = new Array(RING); // a young ring (see RING)
  let ring = scratch.places, ringGrad = scratch.gradAt, ringMask = scratch.mask;
  if (bySerial) {
    last = 0;
    ring[0] = start;
  } else {
    ringGrad.fill(0, 0, last + 1); // places 0..last fit the ring unwrapped (pushGradients sized it)
  }
  ringGrad[0] = startGrad;
  let placed = 1;
  let base = 0; //         the serial distance at place 0 of the window
  let nearest = SERIAL; // the least distance on the waiting list (the window stays short of it)
  for (let p = 0; ; p++) {
    if (p > last) {
      if (scratch.farCount === 0) break;
      // Nothing left in the window: it jumps to the nearest node waiting beyond it.
      base = nearest;
      nearest = SERIAL;
      p = 0;
      last = -1;
      for (let k = scratch.farCount - 1; k >= 0; k--) {
        const d = scratch.farDist[k]! - base;
        if (d > 8 * placed + WINDOW) {
          nearest = Math.min(nearest, scratch.farDist[k]!);
          continue;
        }
        if (d >= ring.length) {
          resizeRing(d + 1, 0, last);
          ring = scratch.places; ringGrad = scratch.gradAt; ringMask = scratch.mask;
        }
        const there = ring[d & ringMask];
        if (there !== null && there !== undefined) return abandonSerialPass(0, last); // two nodes at one distance
        last = Math.max(last, d);
        ring[d & ringMask] = scratch.far[k]!;
        ringGrad[d & ringMask] = scratch.farGrad[k]!;
        placed++;
        dropFar(k);
      }
    }
    const v = ring[p & ringMask];
    if (v === null || v === undefined) continue;
    ring[p & ringMask] = null;
    const num = v._n, i = at(v);
    const g = ringGrad[p & ringMask]!;
    if (record === null) num[i + GRAD] = g + 0; // + 0: a node whose shares were all −0 reads +0, as when skipped
    else record.push(v);
    if (g === 0 && num[i + SINCE] === untouched) continue; // it passes on only zeros
    const form = v._kind & 7;
    const operands = form === NARY ? (v._b as readonly Value[]) : null;
    const count = operands === null ? (form === BINARY ? 2 : 1) : operands.length;
    for (let k = 0; k < count; k++) {
      // Operand c, and its share of the gradient: g · ∂v/∂c.
      let c: Value, share: number;
      if (operands !== null) {
        c = operands[k]!;
        share = g;
      } else {
        const d = num[i + D0 + k]!;
        if (d - d !== 0 && record === null) {
          endSerialPass(p, last);
          throw nonFiniteDerivative(v, k, d);
        }
        c = k === 0 ? v._a! : (v._b as Value);
        share = g * d;
      }
      if ((c._kind & 7) <= CONSTANT) {
        addToLeaf(c, share, stamp);
        continue;
      }
      if (!bySerial) {
        ringGrad[~c._mark] += share;
        continue;
      }
      const dist = (top - c._s) & SERIAL;
      const d = dist - base;
      // Places p+1..last are distinct entries of the ring (it spans them all).
      if (d <= last && d > p && ring[d & ringMask] === c) {
        ringGrad[d & ringMask] += share;
        continue;
      }
      // Serials must order the graph: an operand farther than its user, and no two nodes at one
      // distance (possible 2³⁰ serials apart).
      // (Holes read as undefined. `!= null` says the same but cost W1 150 more instructions a step:
      // 9,138 against 8,981.)
      const there = d <= last ? ring[d & ringMask] : null;
      if (d <= p || (there !== null && there !== undefined)) return abandonSerialPass(p, last);
      if (d > last && (d > 8 * placed + WINDOW || dist >= nearest)) {
        // Beyond the window: onto the waiting list, or already there.
        const m = c._mark;
        if (m >= 0 && m < scratch.farCount && scratch.far[m] === c) {
          scratch.farGrad[m] += share;
        } else {
          addFar(c, dist, share);
          nearest = Math.min(nearest, dist);
        }
        continue;
      }
      if (d > last) {
        if (d - p >= scratch.peak) scratch.peak = d - p + 1;
        if (d - p >= ring.length) {
          resizeRing(d - p + 1, p, last);
          ring = scratch.places; ringGrad = scratch.gradAt; ringMask = scratch.mask;
        }
        last = d;
      }
      ring[d & ringMask] = c;
      ringGrad[d & ringMask] = share;
      placed++;
    }
  }
  return true;
}

/** Ends a serial pass that cannot go on, undoing what it did; returns false. */
function abandonSerialPass(p: number, last: number): false {
  endSerialPass(p, last);
  forgetLeaves();
  return false;
}

/**
 * Makes the ring hold at least `span` places, keeping places `from`..`to` (the ones met but not yet
 * visited) at their entries in the new ring. Doubles, so a pass resizes it O(log n) times.
 */
function resizeRing(span: number, from: number, to: number): void {
  let size = scratch.places.length;
  while (size < span) size *= 2;
  if (size > scratch.peak) scratch.peak = size;
  const nodes: (Value | null)[] = new Array(size).fill(null);
  const grads = new Float64Array(size);
  const newMask = size - 1;
  for (let q = from; q <= to; q++) {
    nodes[q & newMask] = scratch.places[q & scratch.mask] ?? null;
    grads[q & newMask] = scratch.gradAt[q & scratch.mask]!;
  }
  scratch.places = nodes;
  scratch.gradAt = grads;
  scratch.mask = newMask;
}

/** Clears a serial pass that cannot go on: the window from place `p` on, and the waiting list. */
function endSerialPass(p: number, last: number): void {
  for (let q = p; q <= last; q++) scratch.places[q & scratch.mask] = null;
  release(scratch.far, scratch.farCount);
  scratch.farCount = 0;
}

function addFar(c: Value, dist: number, share: number): void {
  scratch.far[scratch.farCount] = c;
  scratch.farDist[scratch.farCount] = dist;
  scratch.farGrad[scratch.farCount] = share;
  c._mark = scratch.farCount++;
}

/** Takes entry `k` off the waiting list (the last entry moves into its place). */
function dropFar(k: number): void {
  const lastEntry = --scratch.farCount;
  if (k !== lastEntry) {
    const moved = scratch.far[lastEntry]!;
    scratch.far[k] = moved;
    scratch.farDist[k] = scratch.farDist[lastEntry]!;
    scratch.farGrad[k] = scratch.farGrad[lastEntry]!;
    moved._mark = k;
  }
  scratch.far[lastEntry] = null;
}

/**
 * Depth-first post-order of the nodes reachable from `root` into `order` (inputs before the nodes
 * made from them); returns how many. Leaves are included if `withLeaves`.
 */
function collect(root: Value, withLeaves: boolean): number {
  const open = nextPass(), done = nextPass();
  const todo = scratch.stack, out = scratch.order; // locals: see the ring in sweep()
  let sp = 0, n = 0, deepest = 1;
  todo[sp++] = root;
  while (sp > 0) {
    if (sp > deepest) deepest = sp;
    const v = todo[sp - 1]!;
    const m = v._mark;
    if (m === done) { sp--; continue; }
    if (m === open) { v._mark = done; out[n++] = v; sp--; continue; }
    const form = v._kind & 7;
    if (form <= CONSTANT) {
      v._mark = done;
      if (withLeaves) out[n++] = v;
      sp--;
      continue;
    }
    v._mark = open;
    if (form === NARY) {
      const b = v._b as readonly Value[];
      for (let k = b.length - 1; k >= 0; k--) if (b[k]!._mark !== done) todo[sp++] = b[k]!;
    } else {
      const a = v._a!;
      if (a._mark !== done) todo[sp++] = a;
      if (form === BINARY && (v._b as Value)._mark !== done) todo[sp++] = v._b as Value;
    }
  }
  release(todo, deepest);
  return n;
}

/** Every node `root` depends on (itself included), each once, inputs before the nodes made from them. */
export function topologicalOrder(root: Value): Value[] {
  if ((root._kind & 7) === TAPE) throw needsOrdinary('topologicalOrder');
  const n = collect(root, true);
  const result = scratch.order.slice(0, n) as Value[];
  release(scratch.order, n);
  return result;
}

/**
 * @internal The operation nodes `root` depends on (itself included), in the order in which
 * `backward()` finishes them, last first: the order its sums run in, for a compiler that must
 * match the engine bit for bit. Leaves the graph's gradients as they were.
 */
export function backwardOrder(root: Value): Value[] {
  if ((root._kind & 7) === TAPE) throw needsOrdinary('backwardOrder');
  if ((root._kind & 7) <= CONSTANT) return [];
  const visited: Value[] = [];
  pushGradients(root, visited);
  forgetLeaves();
  return visited.reverse();
}

/** Drops the references left in the first `n` entries of a scratch list. */
function release(list: (Value | null)[], n: number): void {
  for (let k = 0; k < n; k++) list[k] = null;
}

/**
 * Gives back scratch memory that was mostly unused by the latest pass, so that a series of passes
 * over one graph keeps it and an unusually large graph does not leave it behind. Past 2²² entries
 * (32 MB an array) it is always given back: regrowing it costs little beside such a pass.
 */
function shrink(): void {
  const keep = Math.max(1 << 16, Math.min(4 * scratch.peak, 1 << 22));
  scratch.peak = 0;
  if (scratch.places.length > keep) {
    scratch.places = new Array(RING);
    scratch.gradAt = new Float64Array(RING);
    scratch.mask = RING - 1;
  }
  if (scratch.order.length > keep) scratch.order = [];
  if (scratch.stack.length > keep) scratch.stack = [];
  if (scratch.leafList.length > keep) scratch.leafList = [];
  if (scratch.far.length > keep) { scratch.far = []; scratch.farDist = []; scratch.farGrad = []; }
}

/** Forgets the leaves met by the pass, leaving their grads as they were. */
function forgetLeaves(): void {
  release(scratch.leafList, scratch.leafCount);
  scratch.leafCount = 0;
}

/** `root.backward()`: see `Value.backward`. */
export function backward(root: Value): void {
  if ((root._kind & 7) <= CONSTANT) {
    checkLeafGrad(root, root._n[at(root) + GRAD]! + 1);
    root._n[at(root) + GRAD] += 1;
    return;
  }
  // Interior grads restart at 0; each leaf's share of this pass is summed on its own (in its D0
  // word) and then added to its grad once.
  try {
    if ((root._kind & 7) === TAPE) sweepTape(root);
    else pushGradients(root, null);
  } catch (e) {
    forgetLeaves();
    shrink();
    throw e;
  }
  // A leaf whose gradient overflows (this pass's, or the sum with earlier passes') fails the whole
  // pass, leaving every leaf as it was.
  const list = scratch.leafList, n = scratch.leafCount; // locals: see the ring in sweep()
  for (let k = 0; k < n; k++) {
    const v = list[k]!;
    const num = v._n, i = at(v);
    const g = num[i + GRAD]! + num[i + D0]!;
    if (g - g !== 0) {
      forgetLeaves();
      shrink();
      checkLeafGrad(v, g);
    }
    num[i + D0] = g; // the new grad, written below once every leaf's is known to be finite
  }
  for (let k = 0; k < n; k++) {
    const v = list[k]!;
    const num = v._n, i = at(v);
    num[i + GRAD] = num[i + D0]!;
    list[k] = null;
  }
  scratch.leafCount = 0;
  shrink();
}

/** Throws if `g`, the new gradient of leaf `v`, is not finite. */
function checkLeafGrad(v: Value, g: number): void {
  if (g - g === 0) return;
  const info = { value: v.data, label: v.label };
  throw new NonFiniteError(
    `backward(): the gradient of ${formatOperand('leaf', info)} overflowed to ${g}`, v.op, [info]);
}

function nonFiniteDerivative(v: Value, slot: number, d: number): NonFiniteError {
  return derivativeError(v.op, v._kind & 7, v.inputs.map((x) => ({ value: x.data, label: x.label })), slot, d);
}

/** The error for local derivative `d` in `slot` of an `op` node of `form` with operands `info`. */
function derivativeError(op: OpName, form: number, info: readonly OperandInfo[], slot: number, d: number): NonFiniteError {
  const names = info.length === 1 ? ['x'] : ['a', 'b'];
  const list = info.map((o, k) => formatOperand(names[k] ?? `x${k}`, o)).join(', ');
  // Slot 0 holds the Value operand, which is the second input when the constant comes first.
  if (form === CONST_A) slot = 1;
  return new NonFiniteError(
    `backward(): the local derivative of ${op}(${list}) with respect to ${names[slot]} is ${d}, not a finite number`,
    op, info);
}

/** Sets the gradient of every given value to 0 (for leaves, whose gradients accumulate across calls). */
export function zeroGrad(values: Iterable<Value>): void {
  // No pass count to bump (see the grad setter): a 0 is what a skipped node must read anyway.
  for (const v of values) {
    if ((v._kind & 7) === TAPE) checkAlive(v);
    v._n[at(v) + GRAD] = 0;
  }
}

// ---------------------------------------------------------------------------------------------
// The pass over a scope's tape (scope.ts). Rows come after their operands, so going down from the
// root's row visits every row after all its users, as the sweep above does by serial distance: the
// same shares, summed in the same order, so the same gradients to the last bit. A row the pass does
// not reach keeps its gradient, as a node outside the graph does.

function sweepTape(root: Value): void {
  checkAlive(root);
  const { chunks, kinds, refA, refB, seen, acc, pool, outside } = tape();
  const reached = nextTapePass();
  const skip = beginTapePass(); // below a zero gradient, as `since` allows in the sweep above
  const stamp = nextPass();
  scratch.leafCount = 0;
  const r = root._s;
  acc[r] = 1;
  seen[r] = reached;
  for (let i = r; i >= 0; i--) {
    if (seen[i] !== reached) continue;
    const num = chunks[i >> LOG_CHUNK]!, o = (i & SLOT) * WORDS;
    // Gathered in `acc` and written when visited, as the sweep above does: a failed pass leaves the
    // rows it did not reach as they were. + 0: shares that were all −0 read +0.
    const g = acc[i]! + 0;
    num[o + GRAD] = g;
    if (g === 0 && skip) continue;
    const form = kinds[i]! & 7;
    const count = form === NARY ? refB[i]! : form === BINARY ? 2 : 1;
    for (let k = 0; k < count; k++) {
      let ref: number, share: number;
      if (form === NARY) {
        ref = pool[refA[i]! + k]!;
        share = g;
      } else {
        const d = num[o + D0 + k]!;
        if (d - d !== 0) throw nonFiniteTapeDerivative(i, k, d);
        ref = k === 0 ? refA[i]! : refB[i]!;
        share = g * d;
      }
      if (ref >= 0) {
        if (seen[ref] === reached) acc[ref] += share;
        else {
          seen[ref] = reached;
          acc[ref] = share;
        }
      } else {
        addToLeaf(outside[~ref]!, share, stamp);
      }
    }
  }
}

function nonFiniteTapeDerivative(i: number, slot: number, d: number): NonFiniteError {
  const { chunks, kinds, refA, refB, outside, rowLabels } = tape();
  const describe = (ref: number): OperandInfo => {
    if (ref < 0) return { value: outside[~ref]!.data, label: outside[~ref]!.label };
    return { value: chunks[ref >> LOG_CHUNK]![(ref & SLOT) * WORDS + DATA]!, label: rowLabels.get(ref) ?? '' };
  };
  const form = kinds[i]! & 7;
  const constant = { value: chunks[i >> LOG_CHUNK]![(i & SLOT) * WORDS + D1]!, label: '' };
  const info = form === BINARY ? [describe(refA[i]!), describe(refB[i]!)]
    : form === CONST_A ? [constant, describe(refA[i]!)]
    : form === CONST_B ? [describe(refA[i]!), constant]
    : [describe(refA[i]!)];
  return derivativeError(OP_NAMES[(kinds[i]! >> 3) - 1]!, form, info, slot, d);
}
