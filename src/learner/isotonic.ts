/**
 * Isotonic regression by pool-adjacent-violators: the least-squares fit to a sequence that is
 * monotone in its index. The learner's 1-1-1 net is monotone in x, so no choice of weights can fit
 * the labels better than this; its loss is the floor the net can approach.
 */

/** The non-decreasing sequence closest to `y` in (weighted) least squares. */
export function isotonicIncreasing(y: readonly number[], weights?: readonly number[]): number[] {
  if (weights !== undefined && weights.length !== y.length) {
    throw new RangeError(`isotonic regression needs one weight per value: ${y.length} values, ${weights.length} weights`);
  }
  // Blocks of pooled values: mean, total weight, how many values.
  const mean: number[] = [], weight: number[] = [], size: number[] = [];
  for (let k = 0; k < y.length; k++) {
    const w = weights?.[k] ?? 1;
    if (!Number.isFinite(y[k]!) || !(w > 0) || !Number.isFinite(w)) {
      throw new RangeError(`isotonic regression needs finite values and positive weights, got y[${k}] = ${y[k]}, weight ${w}`);
    }
    mean.push(y[k]!); weight.push(w); size.push(1);
    // Pool while the last two blocks violate the order.
    while (mean.length > 1 && mean[mean.length - 2]! > mean[mean.length - 1]!) {
      const w2 = weight.pop()!, m2 = mean.pop()!, s2 = size.pop()!;
      const w1 = weight[weight.length - 1]!, m1 = mean[mean.length - 1]!;
      mean[mean.length - 1] = (w1 * m1 + w2 * m2) / (w1 + w2);
      weight[weight.length - 1] = w1 + w2;
      size[size.length - 1]! += s2;
    }
  }
  return mean.flatMap((m, b) => Array<number>(size[b]!).fill(m));
}

export interface MonotoneFit {
  readonly direction: 'increasing' | 'decreasing';
  readonly fit: number[];
  /** Mean squared error of the fit. */
  readonly mse: number;
}

function mse(y: readonly number[], fit: readonly number[]): number {
  let s = 0;
  for (let k = 0; k < y.length; k++) s += (y[k]! - fit[k]!) ** 2;
  return s / y.length;
}

/** The better of the best non-decreasing and the best non-increasing fit (by mean squared error). */
export function bestMonotoneFit(y: readonly number[]): MonotoneFit {
  if (y.length === 0) throw new RangeError('isotonic regression needs at least one value');
  const up = isotonicIncreasing(y);
  const down = isotonicIncreasing(y.map((v) => -v)).map((v) => -v);
  const upMse = mse(y, up), downMse = mse(y, down);
  return upMse <= downMse
    ? { direction: 'increasing', fit: up, mse: upMse }
    : { direction: 'decreasing', fit: down, mse: downMse };
}
