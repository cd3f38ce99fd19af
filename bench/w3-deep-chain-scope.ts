/** W3 with the chain made inside a `scope`, in a process of its own (see `runMode` in w3-deep-chain.ts). */
export { scopeWorkload as workload } from './w3-deep-chain.js';
