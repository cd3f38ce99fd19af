/**
 * HTML for the notebooks' tables, with every piece of text escaped. Plain functions without
 * tslab, so that the tests can check them without a kernel.
 */

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML text or attribute content: no markup can pass. */
export function escapeHtml(text: string): string {
  if (typeof text !== 'string') throw new TypeError(`escapeHtml: expected a string, got ${typeof text}`);
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/** A table cell: text (left-aligned) or text with its alignment (numbers go right). */
export type HtmlCell = string | { readonly text: string; readonly align: 'left' | 'right' };

/** An HTML table with a header row and an optional caption; all text is escaped. */
export function htmlTable(header: readonly HtmlCell[], rows: readonly (readonly HtmlCell[])[], caption?: string): string {
  rows.forEach((row, k) => {
    if (row.length !== header.length) throw new RangeError(`table row ${k + 1} has ${row.length} cells for ${header.length} columns`);
  });
  const cell = (tag: 'th' | 'td', c: HtmlCell): string => {
    const { text, align } = typeof c === 'string' ? { text: c, align: 'left' } : c;
    return `<${tag} style="text-align:${align === 'right' ? 'right' : 'left'}">${escapeHtml(text)}</${tag}>`;
  };
  return [
    '<table>',
    ...(caption === undefined ? [] : [`<caption>${escapeHtml(caption)}</caption>`]),
    `<thead><tr>${header.map((h) => cell('th', h)).join('')}</tr></thead>`,
    '<tbody>',
    ...rows.map((row) => `<tr>${row.map((c) => cell('td', c)).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ].join('\n');
}
