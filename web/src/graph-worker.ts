/**
 * The Graphviz worker: the same Graphviz build as the CLI's graphviz-cli (`@aduh95/viz.js`, compiled
 * to WebAssembly), off the main thread so that laying out a graph never freezes typing. It answers
 * `Viz`'s messages ({ id, src, options } → { id, result | error }).
 */
import initWASM from '@aduh95/viz.js/worker';
import wasmURL from '@aduh95/viz.js/wasm?url';

void initWASM({ locateFile: () => wasmURL });
