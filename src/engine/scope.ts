/**
 * `scope(fn)`: an opt-in tape that makes the nodes of a training step cheap.
 *
 * Why: outside a scope every node is a heap object that lives as long as its graph (storage.ts). That
 * gives exact reclamation and node identity, but on large graphs V8's collector copies and marks
 * every node, and that, not the arithmetic, is most of the time. Inside a scope a node is a row of
 * this module's tape instead: its numbers in Float64Array chunks with the same layout as storage.ts,
 * its operands and op in Int32Arrays, both reused from one scope to the next. The Value an op returns
 * is a small handle (its tape row and the scope's number); a handle the caller drops dies young,
 * costing the collector nothing, and the rows are freed all at once when the scope ends.
 *
 * The price is the rules (README "Fast steps: scope"): operands must be Values of the open scope,
 * leaves or numbers; handles die with their scope (ScopeError afterwards); tools that walk a graph
 * need ordinary Values, which `keep(v)` and the scope's return value make by copying a graph out.
 *
 * Rows are made in order, after their operands, so the tape's order is a topological order: the
 * backward pass over it (backward.ts, `sweepTape`) is one loop from the root's row down, no search.
 */
import { ScopeError } from './errors.js';
import { LAYOUT } from './storage.js';
import { Value, copyRows, setTapeMode } from './value.js';

const { CHUNK, SLOT, WORDS, SERIAL, CONSTANT, TAPE, BINARY, NARY } = LAYOUT;
const SHIFT = Math.log2(CHUNK);


// The scope's state: fields of one module-local constant, not module `let`s, which V8 reads through
// the module's context with a check that each is initialised, at every use (as in backward.ts's
// `scratch`). A row's operand reference is its row (≥ 0) or ~k for the leaf `outside[k]`.
const S = {
  /** How deep in nested scopes the caller is; 0 outside any. */
  depth: 0,
  /** The open scope's number, held by its handles in `_mark`; it changes when a scope ends. */
  epoch: 1,
  /** Rows in use. */
  top: 0,
  /** Numbers, CHUNK rows each (storage.ts's layout). */
  chunks: [] as Float64Array[],
  /** The chunk of the latest row (`rowChunk`). */
  chunk: new Float64Array(0) as Float64Array,
  /** Op code << 3 | form (storage.ts's forms). */
  kinds: new Int32Array(1024),
  /** First operand (n-ary: where its operands start in `pool`). */
  refA: new Int32Array(1024),
  /** Second operand (n-ary: how many). */
  refB: new Int32Array(1024),
  /** The tape pass that last reached the row. */
  seen: new Int32Array(1024),
  /** The gradient it has gathered in that pass so far. */
  acc: new Float64Array(1024),
  /** N-ary operand references. */
  pool: new Int32Array(1024),
  poolTop: 0,
  /** Leaves used as operands. */
  outside: [] as (Value | null)[],
  outsideCount: 0,
  /** Labels set on the open scope's handles, by row, for their copies (`keep`, the return value). */
  rowLabels: new Map<number, string>(),
  tapePass: 0,
  // May a pass skip what lies below a row whose gradient is exactly 0 (as backward.ts does outside a
  // scope)? Only if every row below is as it was made (grad 0): no pass has run in this scope, no
  // interior grad was set by hand, and no row holds a non-finite local derivative (which a pass must
  // still meet and report).
  passesInScope: 0,
  handSet: false,
  nonFinite: false,
};

/** True inside a scope: operations make tape rows. */
export function inScope(): boolean {
  return S.depth !== 0;
}

/** The tape, for the backward pass and for copying graphs out (read once per pass into locals). */
export interface Tape {
  readonly chunks: readonly Float64Array[];
  readonly kinds: Int32Array;
  readonly refA: Int32Array;
  readonly refB: Int32Array;
  readonly seen: Int32Array;
  readonly acc: Float64Array;
  readonly pool: Int32Array;
  readonly outside: readonly (Value | null)[];
  readonly rowLabels: ReadonlyMap<number, string>;
}

export function tape(): Tape {
  return S;
}

/** Starts a backward pass over the tape: may it skip below zero gradients? (See `passesInScope`.) */
export function beginTapePass(): boolean {
  return S.passesInScope++ === 0 && !S.handSet && !S.nonFinite;
}

/** An interior grad of the tape set by hand. */
export function gradSetByHand(): void {
  S.handSet = true;
}

/** A new number for a pass over the tape (rows it reaches hold it in `seen`). */
export function nextTapePass(): number {
  if (S.tapePass === SERIAL) {
    S.seen.fill(0);
    S.tapePass = 0;
  }
  return ++S.tapePass;
}

/** Throws unless handle `v` belongs to the open scope (a scope's end changes `epoch`). */
export function checkAlive(v: Value): void {
  if (v._mark !== S.epoch) throw freed();
}

export function freed(): ScopeError {
  return new ScopeError('this Value was made inside a scope that has ended, and was freed with it: ' +
    'return it from the scope, or keep(v) it, to use it afterwards');
}

/** A graph tool refusing a handle. */
export function needsOrdinary(what: string): ScopeError {
  return new ScopeError(`${what} needs ordinary Values, not one made inside a scope: keep(v) copies it out`);
}

/**
 * The reference to operand `x` for a new row: a handle's row, or a leaf's place in `outside`. A leaf
 * keeps its place in `_mark` while its scope is open (as ~k, negative: no pass stamp is, and
 * `endScope` clears it), so that a parameter used by thousands of rows takes one entry and is found
 * with no search. A pass that meets the leaf stamps over its place; it is then listed again.
 * Short, for V8 to inline; the rest is out of line. (This and `outsideReference` are constants, not
 * declarations, as value.ts's `node` is: V8 checks at every call of a declared function that the
 * module's binding still holds it. The functions value.ts copies into constants of its own when it
 * loads, `addRow`, `noteNonFinite`, `rowChunk` and `currentEpoch`, must stay declarations: value.ts
 * may load before this module, and a `const` is not yet set then.)
 *
 * A negative `_mark` on a leaf is always its place in the open scope's list: only `outsideReference`
 * writes one on a leaf (backward.ts writes ~place only on interior nodes, and stamps, which are
 * positive, on leaves), and `endScope` clears them.
 */
const reference = (x: Value): number => {
  const form = x._kind & 7, m = x._mark;
  if (form === TAPE) {
    if (m === S.epoch) return x._s;
  } else if (form <= CONSTANT && m < 0) {
    return m;
  }
  return outsideReference(x);
};

/** A leaf's first reference in this scope, or the error for what a scope cannot take. */
const outsideReference = (x: Value): number => {
  const form = x._kind & 7;
  if (form === TAPE) throw freed();
  if (form > 1) {
    throw new ScopeError('an operation inside a scope got a Value that an operation made outside it: ' +
      'inside a scope, operands are Values made in it, leaves (parameters, inputs, constants) or numbers');
  }
  const k = S.outsideCount;
  if (k === S.outside.length) S.outside.push(x);
  else S.outside[k] = x;
  S.outsideCount = k + 1; // after the entry is in place: `endScope` reads every entry it counts
  x._mark = ~k;
  return ~k;
};

/** Where an n-ary row's operand references start in `pool`. */
function naryReferences(list: readonly Value[]): number {
  if (S.poolTop + list.length > S.pool.length) S.pool = grown(S.pool, S.poolTop + list.length);
  const pool = S.pool, start = S.poolTop;
  for (let k = 0; k < list.length; k++) pool[start + k] = reference(list[k]!);
  S.poolTop = start + list.length;
  return start;
}

/**
 * A new row: op `code`, `form` as in storage.ts, operands `a` and `b` (an array for n-ary). Returns
 * its row; value.ts writes its numbers into `rowChunk()`.
 */
export function addRow(code: number, form: number, a: Value | null, b: Value | readonly Value[] | null): number {
  let ra: number, rb: number;
  if (form === NARY) {
    ra = naryReferences(b as readonly Value[]);
    rb = (b as readonly Value[]).length;
  } else {
    ra = reference(a!);
    rb = form === BINARY ? reference(b as Value) : 0;
  }
  const i = S.top;
  if ((i & SLOT) === 0) makeRoom(i);
  S.top = i + 1;
  S.kinds[i] = (code << 3) | form;
  S.refA[i] = ra;
  S.refB[i] = rb;
  return i;
}

/** A label set on handle `v`: its row's copy gets it too, if `v` belongs to the open scope. */
export function labelRow(v: Value, text: string): void {
  if (v._mark === S.epoch) S.rowLabels.set(v._s, text);
}

/** A row holds a non-finite local derivative: a pass must meet it, so none may skip (see `passesInScope`). */
export function noteNonFinite(): void {
  S.nonFinite = true;
}

/** Room for rows `i`..`i + CHUNK - 1` (called at each chunk's first row). */
function makeRoom(i: number): void {
  if (i + CHUNK > S.kinds.length) {
    S.kinds = grown(S.kinds, i + CHUNK);
    S.refA = grown(S.refA, i + CHUNK);
    S.refB = grown(S.refB, i + CHUNK);
    S.seen = grown(S.seen, i + CHUNK);
    const a = new Float64Array(S.kinds.length);
    a.set(S.acc);
    S.acc = a;
  }
  if ((i >> SHIFT) === S.chunks.length) S.chunks.push(new Float64Array(CHUNK * WORDS));
  S.chunk = S.chunks[i >> SHIFT]!;
}

/** The chunk holding the latest row's numbers (a field, which V8 knows holds a Float64Array). */
export function rowChunk(): Float64Array {
  return S.chunk;
}

/** The open scope's number (for new handles). */
export function currentEpoch(): number {
  return S.epoch;
}

function grown(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  let size = a.length;
  while (size < n) size *= 2;
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** Ends the outermost scope: every handle it made is now stale; the tape is kept for the next. */
function endScope(): void {
  S.depth = 0;
  setTapeMode(false);
  S.epoch = S.epoch === SERIAL ? 1 : S.epoch + 1;
  for (let k = 0; k < S.outsideCount; k++) {
    const leaf = S.outside[k]!;
    if (leaf._mark < 0) leaf._mark = 0; // its place in this scope's list (see `reference`)
    S.outside[k] = null;
  }
  const used = S.top;
  S.top = 0;
  S.passesInScope = 0;
  S.handSet = false;
  S.nonFinite = false;
  S.poolTop = 0;
  S.outsideCount = 0;
  if (S.rowLabels.size !== 0) S.rowLabels.clear();
  // Keep the tape for the next scope, up to twice this one's size: a series of like scopes allocates
  // nothing, and a smaller scope gives back what a large one took.
  const keep = Math.max(2 * used, 1 << 16);
  if (S.kinds.length > keep) {
    S.kinds = new Int32Array(keep);
    S.refA = new Int32Array(keep);
    S.refB = new Int32Array(keep);
    S.seen = new Int32Array(keep);
    S.acc = new Float64Array(keep);
    S.tapePass = 0;
  }
  if (S.chunks.length * CHUNK > keep) S.chunks.length = Math.ceil(keep / CHUNK);
  if (S.pool.length > keep) S.pool = new Int32Array(keep);
  if (S.outside.length > keep) S.outside = [];
}

/**
 * Runs `fn` with every operation node it makes on the tape (see the module's top). Returns what `fn`
 * returns, with each Value made in the scope replaced by an ordinary copy of it and its graph (arrays
 * and plain objects are walked). A scope opened inside another joins it. Synchronous only.
 */
export function scope<T>(fn: () => T): T {
  if (typeof fn !== 'function') throw new TypeError(`scope needs a function, got ${typeof fn}`);
  if (S.depth !== 0) {
    S.depth++;
    try {
      return synchronous(fn());
    } finally {
      S.depth--;
    }
  }
  S.depth = 1;
  setTapeMode(true);
  try {
    return escape(synchronous(fn()));
  } finally {
    endScope();
  }
}

function synchronous<T>(result: T): T {
  if (result !== null && (typeof result === 'object' || typeof result === 'function') &&
      typeof (result as { then?: unknown }).then === 'function') {
    throw new TypeError('scope(fn): fn returned a promise, but a scope is synchronous: its Values are freed ' +
      'when fn returns; await inside the scope is not supported, so run each synchronous step in a scope of its own');
  }
  return result;
}

/**
 * An ordinary copy of `v` and its graph (data, grad and local derivatives as they are now), for use
 * after the scope; inside the scope, go on using `v`. An ordinary Value is returned as it is.
 */
export function keep(v: Value): Value {
  if ((v._kind & 7) !== TAPE) return v;
  checkAlive(v);
  return copyRows([v])[0]!;
}

/** `result` with the open scope's handles replaced by ordinary copies (one copy per row). */
function escape<T>(result: T): T {
  if (result === null || typeof result !== 'object') return result; // a training step's usual result
  const handles: Value[] = [];
  collectHandles(result, handles, 0);
  if (handles.length === 0) return result;
  const copies = copyRows(handles);
  const byHandle = new Map(handles.map((h, k) => [h, copies[k]!]));
  return replaceHandles(result, byHandle, 0) as T;
}

function isPlainObject(x: object): boolean {
  const proto = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
}

const MAX_NESTING = 1000;

function collectHandles(x: unknown, out: Value[], level: number): void {
  if (x === null || typeof x !== 'object') return;
  if (level > MAX_NESTING) throw new RangeError(`scope: the return value is nested more than ${MAX_NESTING} levels deep`);
  if (x instanceof Value) {
    if ((x._kind & 7) === TAPE) {
      checkAlive(x);
      out.push(x);
    }
  } else if (Array.isArray(x)) {
    for (const item of x) collectHandles(item, out, level + 1);
  } else if (isPlainObject(x)) {
    for (const item of Object.values(x)) collectHandles(item, out, level + 1);
  }
}

function replaceHandles(x: unknown, byHandle: ReadonlyMap<Value, Value>, level: number): unknown {
  if (x === null || typeof x !== 'object') return x;
  const copy = byHandle.get(x as Value);
  if (copy !== undefined) return copy;
  if (Array.isArray(x)) return x.map((item) => replaceHandles(item, byHandle, level + 1));
  if (isPlainObject(x)) {
    const out: Record<string, unknown> = Object.create(Object.getPrototypeOf(x));
    for (const [k, item] of Object.entries(x)) out[k] = replaceHandles(item, byHandle, level + 1);
    return out;
  }
  return x;
}
