/** The link format (web/src/hash.ts), without a browser: what the page writes and what it accepts. */
import { test, expect } from '@playwright/test';
import { parseNumber, readHash, writeHash } from '../src/hash.js';

test.describe('the hash', () => {
  test('is written in one form, each value encodeURIComponent-encoded, and read back', () => {
    const state = {
      view: 'model' as const,
      expr: 'h = x + 1 # a+b\ny = h^2',
      at: new Map([['x', -0.5], ['h2', 1e-7]]),
      manual: new Map([['x', '2*h + 0'], ['h', '']]),
    };
    const hash = writeHash(state);
    expect(hash).toBe('#view=model&expr=h%20%3D%20x%20%2B%201%20%23%20a%2Bb%0Ay%20%3D%20h%5E2&at=x%3D-0.5%2Ch2%3D1e-7&manual.x=2*h%20%2B%200');
    const back = readHash(hash);
    expect(back.errors).toEqual([]);
    expect(back.view).toBe('model');
    expect(back.expr).toBe(state.expr);
    expect([...back.at]).toEqual([['x', -0.5], ['h2', 1e-7]]);
    expect([...back.manual]).toEqual([['x', '2*h + 0']]);
  });

  test('accepts = and , raw or %-encoded inside at, keeps + as +, ignores unknown keys', () => {
    for (const at of ['x=1,w=%E2%88%922', 'x%3D1%2Cw%3D%E2%88%922', 'x=1%2Cw%3D-2']) {
      const s = readHash(`#view=model&expr=x%2Bw&at=${at}&colour=blue`);
      expect(s.errors).toEqual([]);
      expect(s.expr).toBe('x+w');
      expect([...s.at]).toEqual([['x', 1], ['w', -2]]);
    }
    expect(readHash('#view=learner').view).toBe('learner');
    expect(readHash('').view).toBe('model');
  });

  test('reports bad values and keeps the rest', () => {
    const s = readHash('#view=sideways&expr=x&at=x=abc,=3,y=2&manual.1x=2&bad=%E0%A4%A');
    expect(s.view).toBe('model');
    expect([...s.at]).toEqual([['y', 2]]);
    expect(s.errors).toEqual([
      'link: view must be one of model, learner, moons, got "sideways"',
      'link: the value of x must be a finite number, got "abc"',
      'link: at takes name=value pairs, got "=3"',
      'link: "manual.1x" does not name a variable',
      'link: "bad=%E0%A4%A" is not correctly %-encoded',
    ]);
  });

  test('numbers: decimal, with U+2212 for minus; nothing else', () => {
    expect(parseNumber('\u22122.5')).toBe(-2.5);
    expect(parseNumber(' 1e3 ')).toBe(1000);
    for (const bad of ['', '1/2', '0x10', 'Infinity', '1e999', '--1', 'NaN']) expect(parseNumber(bad)).toBeNull();
  });
});
