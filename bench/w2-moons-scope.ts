/** W2 with each step in a `scope`, in a process of its own (see `runMode` in w2-moons.ts). */
export { scopeWorkload as workload } from './w2-moons.js';
