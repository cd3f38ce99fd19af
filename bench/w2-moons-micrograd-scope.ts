/** W2 in micrograd's form with each step in a `scope`, in a process of its own (see `runMode` in w2-moons-micrograd.ts). */
export { scopeWorkload as workload } from './w2-moons-micrograd.js';
