/**
 * Where nodes keep their numbers, and the bookkeeping that lets `backward()` order and skip work.
 *
 * Why: a scalar engine spends its time allocating nodes and in the garbage collector (see
 * shared notes on performance). So a node is a thin object holding its operands — the collector
 * still sees the graph and frees it exactly when it is unreachable — while its numbers (data, grad,
 * the local derivatives d0 and d1, and `since`) live interleaved in Float64Array chunks shared by
 * CHUNK consecutive nodes: no boxed doubles, little for the young generation to copy, and one or
 * two cache lines per node for the backward pass.
 *
 * The bound this puts on memory: a node that survives keeps its own object and its chunk alive
 * (CHUNK × WORDS numbers, 40 KB), and through its operands its own graph; nothing else. A graph that
 * nothing refers to is freed, chunks and all, once no surviving node shares its chunks.
 *
 * What stays out of reach this way (measured, see README "Measured speed and memory"): every node is
 * an object on the JS heap that lives as long as its graph, so on a graph of 10⁷ nodes V8's
 * young-generation collector copies each node once or twice and major collections mark them all
 * again; that, not the arithmetic, is most of a huge graph's time. The chunks add to it: V8 starts a
 * major collection for every 64 MB or so that `ArrayBuffer`s grow, so a graph that keeps growing is
 * marked again at evenly spaced sizes (bench/ROUNDS.md, sixth round; chunks on the JS heap instead
 * cut those collections but made W1 and the chain at 10⁵ slower). Doing without a heap object per
 * node would lose either node identity (`a.inputs[0] === b`) or exact reclamation.
 *
 * Every node gets a serial number when it is made, counting modulo 2³⁰ (small integers for V8);
 * CHUNK divides 2³⁰, so `serial & SLOT` is always the node's place in its chunk. A node is made
 * after its operands, so serials order a graph; `backward.ts` checks, rather than assumes, that
 * they do (they may not after wrapping around).
 */

// 1,024 nodes a chunk: what one surviving node can keep alive is its own object and its chunk, 40 KB
// (1,024 × 5 numbers), whatever became of its neighbours: a quarter of 4,096's in the worst case (a
// few nodes kept from a long run; bench W6). W2's step measured the same with either, within noise.
const CHUNK = 1024;
const SLOT = CHUNK - 1;
const SERIAL = (1 << 30) - 1;

// Words of a node in its chunk. A leaf has no local derivatives: a backward pass sums its shares in
// the leaf's D0 word (backward.ts).
const DATA = 0, GRAD = 1, D0 = 2, D1 = 3, SINCE = 4, WORDS = 5;

// How a node's operands are laid out (its `form`, the low 3 bits of `_kind`; the op code is above).
const LEAF = 0; //     no operands
const CONSTANT = 1; // a leaf that stands for a literal number, never a variable of interest
const UNARY = 2; //    a = operand, d0 = ∂out/∂a
const BINARY = 3; //   a, b operands, d0 = ∂out/∂a, d1 = ∂out/∂b
const CONST_B = 4; //  a = operand, d0 = ∂out/∂a, d1 = the constant second operand
const CONST_A = 5; //  a = operand (the second), d0 = ∂out/∂a, d1 = the constant first operand
const NARY = 6; //     b = operand array, every ∂out/∂operand = 1
const TAPE = 7; //     a handle to a row of a scope's tape (scope.ts), which holds its operands

/**
 * A tape row's `since` word (below), below any real one: an operation outside a scope that meets a
 * handle as an operand finds it there, through `sinceOf`, and refuses it at no cost to other ops.
 */
const TAPE_SINCE = -2;

/**
 * The layout above, for the modules that read nodes (value.ts, backward.ts). They copy it into
 * constants of their own (`const { DATA, … } = LAYOUT`): V8 reads an imported or exported binding
 * through a module cell at every use, which made backward() a quarter slower on small graphs.
 */
export const LAYOUT = Object.freeze({
  CHUNK, SLOT, SERIAL, DATA, GRAD, D0, D1, SINCE, WORDS, LEAF, CONSTANT, UNARY, BINARY, CONST_B, CONST_A, NARY, TAPE, TAPE_SINCE,
});

/** What storage needs of a node. */
export interface Stored {
  /** The chunk holding the node's numbers. */
  _n: Float64Array;
  /** Serial number: creation order, modulo 2³⁰. */
  _s: number;
}

/** Where node `v`'s numbers start in `v._n`: (serial & SLOT) × WORDS, written out (see the Value constructor). */
function at(v: Stored): number {
  return (v._s & 1023) * 5;
}

// ---------------------------------------------------------------------------------------------
// `since`: may backward() skip what lies below a node whose gradient is exactly 0 (a relu that is
// off, a hinge that is satisfied)? Every share such a node passes on is ±0, which changes no leaf's
// sum (those start at +0); but the interior nodes only it reaches must still read grad 0 after the
// pass. They do if no pass has written them yet. So `since` is the number of passes begun when the
// oldest interior node of the node's graph was made (the node itself included): where that equals
// `passes` at the start of a pass, no pass has touched any of them. A leaf has Infinity (leaves do
// not count); a graph holding a non-finite local derivative has -1, so that backward() still meets
// that derivative and reports it.

// The counters live in typed arrays, not in module `let`s: V8 reads a `let` through the module's
// context with a check that it is initialised, and keeps a counter that every op compares with a
// double (`since`) as a small integer, converting it at each use; an element of a constant
// Float64Array is read as a double with neither (with the next serial, then an Int32Array element, and
// the chunk below, in one pair of runs: W2 in micrograd's form 30.3 → 28.7 million instructions a step,
// W1 9,520 → 9,291; bench/ROUNDS.md, sixth round. The serial is now a field of CURRENT, below).

/**
 * PASSES: passes begun (and hand-set interior grads, which count as one).
 * SINCE_WRAP: nothing is skipped in a graph holding an interior node made before serials last
 * wrapped around (`since` below this): there serials may be out of order, and a skipped node could
 * hide that from the pass, which would then keep to serial order where it would otherwise fall back
 * to depth-first order, and add the same shares in another order.
 */
const COUNTERS = new Float64Array(2);
const PASSES = 0, SINCE_WRAP = 1;

/** Counts a pass begun, or an interior grad written by hand: no graph made so far may be skipped. */
export function touch(): void {
  COUNTERS[PASSES] = COUNTERS[PASSES]! + 1;
}

/** The passes begun so far (see `since`). */
export function passCount(): number {
  return COUNTERS[PASSES]!;
}

/** `since` below this marks a graph holding nodes made before serials last wrapped around. */
export function lastWrap(): number {
  return COUNTERS[SINCE_WRAP]!;
}

// (These are functions, not exported variables: V8 reads an exported `let` through a module cell,
// with a check that it is initialised, at every use.)

/**
 * `since` for a new node on operand `x` (and `y`) with local derivative `d0` (and `d1`). value.ts's
 * `pairNode` writes the same rule out for two Values: one function serving both shapes (a lone operand
 * passed twice) cost W2 and W3's chain 3–4 % more instructions.
 */
export function sinceOf(x: Stored, d0: number, y: Stored | null, d1: number): number {
  const sx = x._n[at(x) + SINCE]!, passes = COUNTERS[PASSES]!;
  let since = sx < passes ? sx : passes;
  if (y !== null) {
    const sy = y._n[at(y) + SINCE]!;
    if (sy < since) since = sy;
  }
  // -1 for a non-finite derivative, unless an operand's is lower still (a scope's row: scope.ts).
  return d0 - d0 !== 0 || d1 - d1 !== 0 ? (since < -1 ? since : -1) : since;
}

// ---------------------------------------------------------------------------------------------
// Serials and chunks.

/** Starts a chunk at serial `s`; at serial 0, serials have wrapped (or begin). */
function newChunk(s: number): Float64Array {
  if (s === 0) {
    touch();
    COUNTERS[SINCE_WRAP] = COUNTERS[PASSES]!;
  }
  return new Float64Array(CHUNK * WORDS);
}

// A module-local constant for the same reason as COUNTERS: the chunk new nodes go into, and the
// next node's serial, a small-integer field (an Int32Array element costs a bounds check: W2 in
// micrograd's form 25.49 → 25.11 million instructions a step).
const CURRENT = { chunk: newChunk(1), serial: 0 };

/** The chunk the latest `claimSerial()` placed its node in. */
export function currentChunk(): Float64Array {
  return CURRENT.chunk;
}

/** The next node's serial (its numbers go into `currentChunk()`, read after this call). */
export function claimSerial(): number {
  const s = CURRENT.serial;
  if ((s & SLOT) === 0) CURRENT.chunk = newChunk(s);
  CURRENT.serial = (s + 1) & SERIAL;
  return s;
}

/**
 * @internal For tests: the serial number the next node gets, to exercise wrap-around and sparse
 * serials without making 2³⁰ nodes. Starts a fresh chunk, so that no two live nodes share a slot.
 */
export function setNextSerial(serial: number): void {
  CURRENT.serial = serial & SERIAL;
  CURRENT.chunk = newChunk(0); // as after a wrap
}
