/** W1 with each step in a `scope`, in a process of its own (see `runMode` in w1-net111.ts). */
export { scopeWorkload as workload } from './w1-net111.js';
