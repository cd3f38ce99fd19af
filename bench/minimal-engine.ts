/**
 * The least a dynamic scalar engine does, as a yardstick for the engine's speed on small graphs
 * (W1): a node object per operation holding its value, gradient, operands and local derivatives,
 * and a backward pass over a depth-first topological order. No checks of any kind, no op table, no
 * skipping, no reclaimable storage, no second passes that add up; only what W1's loss needs. On a
 * shared machine both this and the engine run 1.5–2× slower in some processes than in others, so
 * the ratio between the two in one process says more than either time alone.
 */
let stamp = 0;

export class MinimalNode {
  grad = 0;
  mark = 0;
  constructor(
    public data: number,
    readonly a: MinimalNode | null = null,
    readonly b: MinimalNode | null = null,
    readonly da = 0,
    readonly db = 0,
  ) {}

  mul(o: MinimalNode | number): MinimalNode {
    return typeof o === 'number'
      ? new MinimalNode(this.data * o, this, null, o)
      : new MinimalNode(this.data * o.data, this, o, o.data, this.data);
  }

  add(o: MinimalNode): MinimalNode {
    return new MinimalNode(this.data + o.data, this, o, 1, 1);
  }

  sub(c: number): MinimalNode {
    return new MinimalNode(this.data - c, this, null, 1);
  }

  square(): MinimalNode {
    return new MinimalNode(this.data * this.data, this, null, 2 * this.data);
  }

  sigmoid(): MinimalNode {
    const s = 1 / (1 + Math.exp(-this.data));
    return new MinimalNode(s, this, null, s * (1 - s));
  }

  /** Sets every reachable node's gradient to ∂this/∂node (leaves included: they start from 0 each pass). */
  backward(): void {
    const order: MinimalNode[] = [];
    const stack: MinimalNode[] = [this];
    const next: number[] = [0]; // per stack entry: the operand to visit next (0 = a, 1 = b, 2 = done)
    const pass = ++stamp;
    this.mark = pass;
    while (stack.length > 0) {
      const top = stack.length - 1, v = stack[top]!, k = next[top]!;
      if (k === 2) {
        stack.pop();
        next.pop();
        order.push(v);
        continue;
      }
      next[top] = k + 1;
      const c = k === 0 ? v.a : v.b;
      if (c !== null && c.mark !== pass) {
        c.mark = pass;
        stack.push(c);
        next.push(0);
      }
    }
    for (const v of order) v.grad = 0;
    this.grad = 1;
    for (let i = order.length - 1; i >= 0; i--) {
      const v = order[i]!;
      if (v.a !== null) v.a.grad += v.grad * v.da;
      if (v.b !== null) v.b.grad += v.grad * v.db;
    }
  }
}
