/**
 * The ops as module functions (`mul(a, b)`, `exp(x)`); the `Value` methods (`a.mul(b)`, `x.exp()`)
 * call them too. Each op is one function that reads its own entry of the op table at its own call
 * sites: V8 then inlines that entry's formulas here. (One shared function calling `op.value(a)` for
 * every op would see all their formulas at one call site, and V8's inlining trace shows it then
 * inlines none of them.) The functions differ only in the entry they read: adding an op is its
 * table entry and one function here, which the type of `OP_FUNCTIONS` in value.ts demands.
 *
 * A two-operand op takes one of three paths, all through the same entry: two Values (the common
 * case: `valuePair`, `pairNode` in value.ts), and in its `…Operands` function a Value and a number
 * (`valueAndNumber`, `constNode`), or else a number and a Value or an operand that is neither
 * (`valueOf`, `constantFirst`). A number operand's derivative is never stored (the node keeps the
 * number in its place), so those functions do not compute it: for `x.pow(2)`, ∂/∂b would be a call
 * of Math.log.
 */
import { OPS as TABLE, opCodes, type BinaryOp, type UnaryOp } from './ops.js';
import {
  checkDomain as checkDomainImport, constantFirst as constantFirstImport, constNode as constNodeImport, dataOf as dataOfImport,
  operandOf as operandOfImport, pairNode as pairNodeImport, unary as unaryImport, valueAndNumber as valueAndNumberImport,
  valuePair as valuePairImport, valueOf as valueOfImport, type Operand, type Value,
} from './value.js';

// Module-local constants: V8 reads an imported binding through a module cell at every use, checking
// that it is initialised and, for a function it inlines, that it is still that function; a local
// `const` it reads as the constant it is. For the functions every op calls, this took W2 in
// micrograd's form from 33.1 to 31.2 million instructions a step (bench/ROUNDS.md, fifth round).
// (the functions imported here are declarations in value.ts, set before either module runs, so the
// circular import is safe; named imports, not a namespace object, which a bundler may not have filled
// in yet.)
const OPS = TABLE;
const CODE = opCodes();
const constantFirst = constantFirstImport, checkDomain = checkDomainImport, dataOf = dataOfImport, operandOf = operandOfImport;
const pairNode = pairNodeImport, unary = unaryImport, valuePair = valuePairImport, valueOf = valueOfImport;
const constNode = constNodeImport, valueAndNumber = valueAndNumberImport;

export function add(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['+'];
  if (valuePair(x, y)) {
    const a = dataOf(x), b = dataOf(y);
    const out = op.value(a, b);
    return pairNode(CODE['+'], x, y, out, op.da(a, b, out), op.db(a, b, out));
  }
  return addOperands(x, y);
}

/** `add` with a number operand, or with an operand that is neither. */
function addOperands(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['+'];
  if (valueAndNumber(x, y)) {
    const a = dataOf(x), b = y as number;
    const out = op.value(a, b);
    return constNode(CODE['+'], x, b, out, op.da(a, b, out));
  }
  const a = valueOf(x), b = valueOf(y);
  const out = op.value(a, b);
  return constantFirst(CODE['+'], x, y, out, op.db(a, b, out));
}

export function sub(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['-'];
  if (valuePair(x, y)) {
    const a = dataOf(x), b = dataOf(y);
    const out = op.value(a, b);
    return pairNode(CODE['-'], x, y, out, op.da(a, b, out), op.db(a, b, out));
  }
  return subOperands(x, y);
}

/** `sub` with a number operand, or with an operand that is neither. */
function subOperands(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['-'];
  if (valueAndNumber(x, y)) {
    const a = dataOf(x), b = y as number;
    const out = op.value(a, b);
    return constNode(CODE['-'], x, b, out, op.da(a, b, out));
  }
  const a = valueOf(x), b = valueOf(y);
  const out = op.value(a, b);
  return constantFirst(CODE['-'], x, y, out, op.db(a, b, out));
}

export function mul(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['*'];
  if (valuePair(x, y)) {
    const a = dataOf(x), b = dataOf(y);
    const out = op.value(a, b);
    return pairNode(CODE['*'], x, y, out, op.da(a, b, out), op.db(a, b, out));
  }
  return mulOperands(x, y);
}

/** `mul` with a number operand, or with an operand that is neither. */
function mulOperands(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['*'];
  if (valueAndNumber(x, y)) {
    const a = dataOf(x), b = y as number;
    const out = op.value(a, b);
    return constNode(CODE['*'], x, b, out, op.da(a, b, out));
  }
  const a = valueOf(x), b = valueOf(y);
  const out = op.value(a, b);
  return constantFirst(CODE['*'], x, y, out, op.db(a, b, out));
}

export function div(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['/'];
  if (valuePair(x, y)) {
    const a = dataOf(x), b = dataOf(y);
    const out = op.value(a, b);
    return pairNode(CODE['/'], x, y, out, op.da(a, b, out), op.db(a, b, out));
  }
  return divOperands(x, y);
}

/** `div` with a number operand, or with an operand that is neither. */
function divOperands(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['/'];
  if (valueAndNumber(x, y)) {
    const a = dataOf(x), b = y as number;
    const out = op.value(a, b);
    return constNode(CODE['/'], x, b, out, op.da(a, b, out));
  }
  const a = valueOf(x), b = valueOf(y);
  const out = op.value(a, b);
  return constantFirst(CODE['/'], x, y, out, op.db(a, b, out));
}

/** xʸ. A number exponent allows a negative base ((−2)² = 4); a Value exponent needs x ≥ 0. */
export function pow(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['pow'];
  if (valuePair(x, y)) {
    const a = dataOf(x), b = dataOf(y);
    checkDomain('pow', x, y, a, b);
    const out = op.value(a, b);
    return pairNode(CODE['pow'], x, y, out, op.da(a, b, out), op.db(a, b, out));
  }
  return powOperands(x, y);
}

/** `pow` with a number operand, or with an operand that is neither. */
function powOperands(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['pow'];
  if (valueAndNumber(x, y)) {
    const a = dataOf(x), b = y as number;
    checkDomain('pow', x, y, a, b);
    const out = op.value(a, b);
    return constNode(CODE['pow'], x, b, out, op.da(a, b, out));
  }
  const a = valueOf(x), b = valueOf(y);
  checkDomain('pow', x, y, a, b);
  const out = op.value(a, b);
  return constantFirst(CODE['pow'], x, y, out, op.db(a, b, out));
}

export function neg(x: Value): Value {
  const op: UnaryOp = OPS['neg'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['neg'], x, out, op.d(a, out, 0));
}

export function exp(x: Value): Value {
  const op: UnaryOp = OPS['exp'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['exp'], x, out, op.d(a, out, 0));
}

export function log(x: Value): Value {
  const op: UnaryOp = OPS['log'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['log'], x, out, op.d(a, out, 0));
}

export function tanh(x: Value): Value {
  const op: UnaryOp = OPS['tanh'], a = operandOf(x), t = op.temp!(a);
  const out = op.value(a, t);
  return unary(CODE['tanh'], x, out, op.d(a, out, t));
}

export function sigmoid(x: Value): Value {
  const op: UnaryOp = OPS['sigmoid'], a = operandOf(x), t = op.temp!(a);
  const out = op.value(a, t);
  return unary(CODE['sigmoid'], x, out, op.d(a, out, t));
}

export function relu(x: Value): Value {
  const op: UnaryOp = OPS['relu'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['relu'], x, out, op.d(a, out, 0));
}

export function sqrt(x: Value): Value {
  const op: UnaryOp = OPS['sqrt'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['sqrt'], x, out, op.d(a, out, 0));
}

export function abs(x: Value): Value {
  const op: UnaryOp = OPS['abs'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['abs'], x, out, op.d(a, out, 0));
}

export function softplus(x: Value): Value {
  const op: UnaryOp = OPS['softplus'], a = operandOf(x), t = op.temp!(a);
  const out = op.value(a, t);
  return unary(CODE['softplus'], x, out, op.d(a, out, t));
}

export function logsigmoid(x: Value): Value {
  const op: UnaryOp = OPS['logsigmoid'], a = operandOf(x), t = op.temp!(a);
  const out = op.value(a, t);
  return unary(CODE['logsigmoid'], x, out, op.d(a, out, t));
}

export function sin(x: Value): Value {
  const op: UnaryOp = OPS['sin'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['sin'], x, out, op.d(a, out, 0));
}

export function cos(x: Value): Value {
  const op: UnaryOp = OPS['cos'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['cos'], x, out, op.d(a, out, 0));
}

export function tan(x: Value): Value {
  const op: UnaryOp = OPS['tan'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['tan'], x, out, op.d(a, out, 0));
}

export function atan(x: Value): Value {
  const op: UnaryOp = OPS['atan'], a = operandOf(x);
  const out = op.value(a, 0);
  return unary(CODE['atan'], x, out, op.d(a, out, 0));
}

export function max(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['max'];
  if (valuePair(x, y)) {
    const a = dataOf(x), b = dataOf(y);
    const out = op.value(a, b);
    return pairNode(CODE['max'], x, y, out, op.da(a, b, out), op.db(a, b, out));
  }
  return maxOperands(x, y);
}

/** `max` with a number operand, or with an operand that is neither. */
function maxOperands(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['max'];
  if (valueAndNumber(x, y)) {
    const a = dataOf(x), b = y as number;
    const out = op.value(a, b);
    return constNode(CODE['max'], x, b, out, op.da(a, b, out));
  }
  const a = valueOf(x), b = valueOf(y);
  const out = op.value(a, b);
  return constantFirst(CODE['max'], x, y, out, op.db(a, b, out));
}

export function min(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['min'];
  if (valuePair(x, y)) {
    const a = dataOf(x), b = dataOf(y);
    const out = op.value(a, b);
    return pairNode(CODE['min'], x, y, out, op.da(a, b, out), op.db(a, b, out));
  }
  return minOperands(x, y);
}

/** `min` with a number operand, or with an operand that is neither. */
function minOperands(x: Operand, y: Operand): Value {
  const op: BinaryOp = OPS['min'];
  if (valueAndNumber(x, y)) {
    const a = dataOf(x), b = y as number;
    const out = op.value(a, b);
    return constNode(CODE['min'], x, b, out, op.da(a, b, out));
  }
  const a = valueOf(x), b = valueOf(y);
  const out = op.value(a, b);
  return constantFirst(CODE['min'], x, y, out, op.db(a, b, out));
}
