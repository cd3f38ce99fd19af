/**
 * The backward pass one node at a time, for teaching: `backwardSteps(root)` does what
 * `root.backward()` does, as a generator that stops after each node it processes and says which
 * chain-rule updates that node made.
 *
 * It follows the engine's own order (`backwardOrder`) and its own arithmetic, so that stepping to the
 * end leaves the same gradients as `backward()`: the root's is 1; an interior node's gradient is the
 * sum of its users' shares, added in the order the engine adds them; a leaf sums this pass's shares
 * from +0 and then adds that sum to its earlier gradient, once. Every interior node is a step, also
 * those below a zero gradient that `backward()` may skip (their shares are ±0, which change no sum).
 *
 * The Values themselves show the pass in progress: after each step, a node's `grad` reads its sum so
 * far (a leaf's reads its earlier gradient plus this pass's sum so far).
 */
import { NonFiniteError, Value } from '../engine/value.js';
import { backwardOrder } from '../engine/backward.js';
import { describeUnknown } from '../engine/describe.js';

/** One chain-rule update: grad(input) += grad(node) × ∂node/∂input. */
export interface GradientUpdate {
  /** The operand that receives the share. */
  readonly input: Value;
  /** Its place among the node's `inputs`. */
  readonly slot: number;
  /** ∂node/∂input, as the engine stored it when the node was made. */
  readonly local: number;
  /** grad(node) × local: what this update adds. */
  readonly share: number;
  /**
   * The input's sum of shares in this pass, before and after this update (`before` is `null` for the
   * first share an interior node receives: the engine starts its sum with that share). For a leaf the
   * sum starts at +0 and excludes the gradient it had before the pass.
   */
  readonly before: number | null;
  readonly after: number;
  /** How many shares the input has received in this pass, this one included. */
  readonly count: number;
}

/** The processing of one node. */
export interface BackwardStep {
  /** 0 for the root, then one more per step. */
  readonly index: number;
  /** How many steps the pass has: one per operation node (one in all for a leaf root). */
  readonly total: number;
  /** The node processed: its gradient is complete and is passed on to its operands. */
  readonly node: Value;
  /** The node's gradient (the root's is 1). */
  readonly grad: number;
  /**
   * True when the gradient is exactly 0: every share is then ±0, and `backward()` may skip passing
   * them on (and what lies below). The step still lists them.
   */
  readonly zero: boolean;
  /** One per Value operand, in operand order; a number operand (inline constant) has none. */
  readonly updates: readonly GradientUpdate[];
}

/**
 * Reverse-mode differentiation of `root`, one node per step. Sets `root.grad` to 1 (or adds 1 to a
 * leaf root's gradient, as `backward()` does), zeroes the interior nodes' gradients and writes each
 * sum as it grows. Run to the end, it leaves the graph as `root.backward()` would: the leaves' grads
 * bit for bit, interior grads equal as numbers (the `grad` setter stores −0 as 0).
 *
 * Throws `NonFiniteError` where `backward()` would: at a non-finite local derivative, or when a
 * gradient overflows (`backward()` names the leaf at its end; this stops at the step where the sum
 * overflows); either way every leaf's gradient is put back as it was before the pass. Changing the graph's data or gradients while
 * stepping gives meaningless steps.
 */
export function* backwardSteps(root: Value): Generator<BackwardStep, void, undefined> {
  if (!(root instanceof Value)) throw new TypeError(`backwardSteps: root must be a Value, got ${describeUnknown(root)}`);
  if (root.isLeaf) {
    const g = root.grad + 1;
    checkLeafGrad(root, g);
    root.grad = g;
    yield { index: 0, total: 1, node: root, grad: 1, zero: false, updates: [] };
    return;
  }
  // backwardOrder lists the nodes last-processed first.
  const order = backwardOrder(root).reverse();
  // This pass's running sums, by node; leaves keep their earlier gradient apart until the end.
  const sums = new Map<Value, { sum: number; count: number }>();
  const earlier = new Map<Value, number>();
  for (const v of order) v.grad = 0;
  sums.set(root, { sum: 1, count: 1 });
  root.grad = 1;

  const restoreLeaves = (): void => {
    for (const [leaf, g] of earlier) leaf.grad = g;
  };

  for (let index = 0; index < order.length; index++) {
    const node = order[index]!;
    const grad = sums.get(node)?.sum ?? 0;
    const inputs = node.inputs;
    const locals = node.localGradients;
    const updates: GradientUpdate[] = [];
    for (let slot = 0; slot < inputs.length; slot++) {
      const local = locals[slot];
      if (local === null || local === undefined) continue; // a number operand has no gradient
      const input = inputs[slot]!;
      if (local - local !== 0) {
        restoreLeaves();
        throw nonFiniteDerivative(node, slot, local);
      }
      // The engine's sum operands (n-ary) receive the node's gradient itself, not g · 1.
      const share = node.op === 'sum' ? grad : grad * local;
      let entry = sums.get(input);
      let before: number | null;
      if (input.isLeaf) {
        if (!earlier.has(input)) earlier.set(input, input.grad);
        if (entry === undefined) {
          entry = { sum: 0, count: 0 };
          sums.set(input, entry);
        }
        before = entry.sum;
        entry.sum += share;
      } else if (entry === undefined) {
        before = null;
        entry = { sum: share, count: 0 };
        sums.set(input, entry);
      } else {
        before = entry.sum;
        entry.sum += share;
      }
      entry.count++;
      const shown = input.isLeaf ? earlier.get(input)! + entry.sum : entry.sum;
      if (shown - shown !== 0) {
        // backward() would fail at its end (a non-finite sum reaches some leaf): fail here.
        restoreLeaves();
        if (input.isLeaf) checkLeafGrad(input, shown);
        throw new NonFiniteError(`backward(): the gradient of a ${input.op} node overflowed to ${shown}`, input.op, [{ value: input.data, label: input.label }]);
      }
      input.grad = shown;
      updates.push({ input, slot, local, share, before, after: entry.sum, count: entry.count });
    }
    yield { index, total: order.length, node, grad, zero: grad === 0, updates };
  }
}

/** Throws as `backward()` does when `g`, the new gradient of leaf `v`, is not finite. */
function checkLeafGrad(v: Value, g: number): void {
  if (g - g === 0) return;
  const info = { value: v.data, label: v.label };
  throw new NonFiniteError(
    `backward(): the gradient of leaf=${v.data}${v.label ? ` (${JSON.stringify(v.label)})` : ''} overflowed to ${g}`, v.op, [info]);
}

function nonFiniteDerivative(v: Value, slot: number, d: number): NonFiniteError {
  const info = v.inputs.map((x) => ({ value: x.data, label: x.label }));
  const names = info.length === 1 ? ['x'] : ['a', 'b'];
  const list = info.map((o, k) => `${names[k] ?? `x${k}`}=${o.value}${o.label ? ` (${JSON.stringify(o.label)})` : ''}`).join(', ');
  return new NonFiniteError(
    `backward(): the local derivative of ${v.op}(${list}) with respect to ${names[slot] ?? `x${slot}`} is ${d}, not a finite number`,
    v.op, info);
}
