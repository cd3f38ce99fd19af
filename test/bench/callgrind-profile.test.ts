// The profile's reading of callgrind's output format and of V8's perf map, on hand-written files
// whose sums are worked out here by hand.
import { describe, expect, it } from 'vitest';
import { ownInstructions, parsePerfMap, totalInstructions } from '../../bench/callgrind-profile.js';

// Two functions in C and two addresses of JIT code; `main` calls `work` (the line after `calls=` is
// that call's inclusive cost, 700, which is not main's own).
const OUT = `# callgrind format
version: 1
pid: 4242
positions: line
events: Ir
summary: 975

ob=(1) /usr/bin/node
fl=(1) main.c
fn=(1) main
10 5
+2 20
cfn=(2) work
calls=1 0
14 700
* 50
fn=(2)
3 400
4 300
ob=(2) ???
fl=(2) ???
fn=(3) 0x0000000000001010
0 60
fn=(4) 0x0000000000001080
0 40
fn=(5) 0x0000000000009000
0 100

totals: 975
`;

const MAP = `1000 100 JS:*binary value.js:261
2000 10 JS:^sweep backward.js:110
`;

describe('npm run profile: reading callgrind and perf-map files', () => {
  it('counts each function\u2019s own instructions, not those of its calls, and names JIT code from the map', () => {
    expect(ownInstructions(OUT, parsePerfMap(MAP))).toEqual([
      { name: 'work', instructions: 700 },
      { name: 'JIT JS:*binary value.js:261', instructions: 100 }, // 60 + 40: two addresses in one range
      { name: '0x0000000000009000', instructions: 100 }, // in no range of the map
      { name: 'main', instructions: 75 },
    ]);
    expect(totalInstructions(OUT)).toBe(975);
  });

  it('reads the instruction column after two position columns (--dump-instr=yes)', () => {
    const out = 'positions: instr line\nevents: Ir\nfn=(1) f\n0x10 0 7\n+4 0 5\n';
    expect(ownInstructions(out)).toEqual([{ name: 'f', instructions: 12 }]);
  });

  it('refuses an output with no totals', () => {
    expect(() => totalInstructions('events: Ir\n')).toThrow(/no summary line/);
  });
});
