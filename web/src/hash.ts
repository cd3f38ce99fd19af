/**
 * The page's state in the URL hash: `#view=model&expr=…&at=x=1,w=2&manual.w=…`. Each value is
 * `encodeURIComponent`-encoded, so that `+` never turns into a space; readers also accept `=` and
 * `,` raw inside `at`. Unknown keys are ignored; bad values are reported, not dropped silently.
 */

export type ViewName = 'model' | 'learner' | 'moons';
export const VIEWS: readonly ViewName[] = ['model', 'learner', 'moons'];

export interface HashState {
  readonly view: ViewName;
  /** The model's text; undefined when the hash gives none. */
  readonly expr?: string;
  /** Variable values in the order given. */
  readonly at: ReadonlyMap<string, number>;
  /** Hand-derived formulas by name. */
  readonly manual: ReadonlyMap<string, string>;
  /** What could not be read, one message each. */
  readonly errors: readonly string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A number as the page accepts it: decimal, with `−` (U+2212) allowed for the minus sign. */
export function parseNumber(text: string): number | null {
  const t = text.trim().replace(/\u2212/g, '-');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return null;
  const n = Number(t);
  return Number.isFinite(n) ? n : null;
}

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

export function readHash(hash: string): HashState {
  const errors: string[] = [];
  let view: ViewName = 'model';
  let expr: string | undefined;
  const at = new Map<string, number>();
  const manual = new Map<string, string>();
  const body = hash.startsWith('#') ? hash.slice(1) : hash;
  for (const part of body.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decode(eq < 0 ? part : part.slice(0, eq));
    const value = decode(eq < 0 ? '' : part.slice(eq + 1));
    if (key === null || value === null) {
      errors.push(`link: "${part.slice(0, 40)}" is not correctly %-encoded`);
      continue;
    }
    if (key === 'view') {
      if ((VIEWS as readonly string[]).includes(value)) view = value as ViewName;
      else errors.push(`link: view must be one of ${VIEWS.join(', ')}, got "${value}"`);
    } else if (key === 'expr') {
      expr = value;
    } else if (key === 'at') {
      for (const pair of value.split(',')) {
        if (pair.trim() === '') continue;
        const k = pair.indexOf('=');
        const name = pair.slice(0, k).trim();
        const n = k < 0 ? null : parseNumber(pair.slice(k + 1));
        if (k < 0 || !NAME.test(name)) errors.push(`link: at takes name=value pairs, got "${pair}"`);
        else if (n === null) errors.push(`link: the value of ${name} must be a finite number, got "${pair.slice(k + 1)}"`);
        else at.set(name, n);
      }
    } else if (key.startsWith('manual.')) {
      const name = key.slice('manual.'.length);
      if (NAME.test(name)) manual.set(name, value);
      else errors.push(`link: "${key}" does not name a variable`);
    }
    // Any other key: ignored (a newer page's, or a typo that must not break the link).
  }
  return { view, expr, at, manual, errors };
}

/** The hash for a state, in the one form the page writes. */
export function writeHash(state: { view: ViewName; expr?: string; at?: ReadonlyMap<string, number>; manual?: ReadonlyMap<string, string> }): string {
  const parts = [`view=${encodeURIComponent(state.view)}`];
  if (state.view === 'model') {
    if (state.expr !== undefined) parts.push(`expr=${encodeURIComponent(state.expr)}`);
    if (state.at && state.at.size > 0) {
      parts.push(`at=${encodeURIComponent([...state.at].map(([k, v]) => `${k}=${String(v)}`).join(','))}`);
    }
    for (const [name, formula] of state.manual ?? []) {
      if (formula.trim() !== '') parts.push(`manual.${name}=${encodeURIComponent(formula)}`);
    }
  }
  return `#${parts.join('&')}`;
}
