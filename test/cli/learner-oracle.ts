/** The learner's network at one point, differentiated by hand: the oracle the CLI tests compare with. */
export const MODEL = 'h = sigmoid(w1*x + b1); y = sigmoid(w2*h + b2); (y - a)^2';
export const AT = { x: 2 / 9, a: 1, w1: 0.3, b1: 0.1, w2: -0.2, b2: 0.05 };
export const atArg = Object.entries(AT).map(([k, v]) => `${k}=${v}`).join(',');

export const s = (z: number): number => 1 / (1 + Math.exp(-z));
export const h = s(AT.w1 * AT.x + AT.b1);
export const y = s(AT.w2 * h + AT.b2);
export const delta2 = 2 * (y - AT.a) * y * (1 - y);
/** ∂L/∂name for each parameter and for the intermediate h. */
export const HAND = {
  w2: delta2 * h, b2: delta2, w1: delta2 * AT.w2 * h * (1 - h) * AT.x, b1: delta2 * AT.w2 * h * (1 - h), h: delta2 * AT.w2,
};
