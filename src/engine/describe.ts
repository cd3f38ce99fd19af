/** How error messages name a value of unexpected type: `null`, `string "1"`, `an instance of Date`, `number NaN`. */
export function describeUnknown(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (typeof x === 'string') return `string ${JSON.stringify(x)}`;
  if (typeof x === 'object') {
    const name = (x as object).constructor?.name;
    return name && name !== 'Object' ? `an instance of ${name}` : 'an object';
  }
  return `${typeof x} ${String(x)}`;
}
