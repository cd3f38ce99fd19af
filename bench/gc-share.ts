/**
 * Where a step's time goes: the share of CPU-profile samples in V8's garbage collector, for the
 * dynamic engine's steady state (profiled in-process with `node:inspector`, after a warm-up, so that
 * start-up and compilation are left out).
 *
 *   npm run bench:gc            W2 (both forms), W1, and W3 at N = 10⁶, each without and with scope
 *   npm run bench:gc -- --big   also W3 at N = 10⁷ (needs a heap limit of 2.5 GiB or more)
 */
import { Session } from 'node:inspector/promises';
import { scope } from '../src/index.js';
import { moonsStep } from '../src/learner/moons.js';
import { setup, STEPS } from './w2-moons.js';
import { microgradStep } from './w2-moons-micrograd.js';
import { trainEngine, SEED } from './w1-net111.js';
import { buildChain } from './w3-deep-chain.js';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; }
interface Profile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; }

/** Profiles `work` and returns the time (ms) by function name, and the total. */
async function profile(session: Session, work: () => void): Promise<{ total: number; byName: Map<string, number> }> {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  work();
  const { profile: p } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
  const names = new Map(p.nodes.map((n) => [n.id, n.callFrame.functionName || '(anonymous)']));
  const byName = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, k) => {
    const dt = (p.timeDeltas[k] ?? 0) / 1000;
    total += dt;
    const name = names.get(id)!;
    byName.set(name, (byName.get(name) ?? 0) + dt);
  });
  return { total, byName };
}

function report(title: string, r: { total: number; byName: Map<string, number> }): void {
  const share = (name: string): number => (100 * (r.byName.get(name) ?? 0)) / r.total;
  const top = [...r.byName].sort((a, b) => b[1] - a[1]).slice(0, 4)
    .map(([name, ms]) => `${name} ${((100 * ms) / r.total).toFixed(0)} %`).join(', ');
  console.log(`${title}: ${r.total.toFixed(0)} ms profiled; garbage collector ${share('(garbage collector)').toFixed(1)} %; top: ${top}`);
}

const session = new Session();
session.connect();

const s = setup();
const params = s.model.parameters();
const reset = (): void => params.forEach((p, j) => { p.data = s.initial[j]!; });
const w2 = (): void => { for (let r = 0; r < 3; r++) { reset(); for (let k = 0; k < STEPS; k++) moonsStep(s.model, s.data, k, STEPS); } };
const w2scoped = (): void => { for (let r = 0; r < 3; r++) { reset(); for (let k = 0; k < STEPS; k++) scope(() => moonsStep(s.model, s.data, k, STEPS)); } };
const micrograd = (k: number): void => microgradStep(s.model, s.data, k);
const w2micrograd = (): void => { for (let r = 0; r < 3; r++) { reset(); for (let k = 0; k < STEPS; k++) micrograd(k); } };
const w2microgradScoped = (): void => { for (let r = 0; r < 3; r++) { reset(); for (let k = 0; k < STEPS; k++) scope(() => micrograd(k)); } };
const w1 = (): void => { for (let r = 0; r < 10; r++) trainEngine(10_000, SEED); };
const w1scoped = (): void => { for (let r = 0; r < 10; r++) trainEngine(10_000, SEED, true); };
const chain = (n: number): void => { const { x, root } = buildChain(n); root.backward(); if (!(x.grad > 0)) throw new Error('W3: bad gradient'); };
const w3 = (n: number) => (): void => chain(n);
const w3scoped = (n: number) => (): void => scope(() => chain(n));

w2(); w2scoped(); w2micrograd(); w2microgradScoped(); w1(); w1scoped(); w3(1e5)(); w3scoped(1e5)(); // warm-up
report('W2, 300 steps', await profile(session, w2));
report('W2 in scopes, 300 steps', await profile(session, w2scoped));
report("W2 in micrograd's form, 300 steps", await profile(session, w2micrograd));
report("W2 in micrograd's form in scopes, 300 steps", await profile(session, w2microgradScoped));
report('W1, 10⁵ steps', await profile(session, w1));
report('W1 in scopes, 10⁵ steps', await profile(session, w1scoped));
report('W3, N = 10⁶', await profile(session, w3(1e6)));
report('W3 in a scope, N = 10⁶', await profile(session, w3scoped(1e6)));
if (process.argv.includes('--big')) {
  report('W3, N = 10⁷', await profile(session, w3(1e7)));
  report('W3 in a scope, N = 10⁷', await profile(session, w3scoped(1e7)));
}
session.disconnect();

