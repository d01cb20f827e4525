/**
 * Text for a cell of a Markdown table (the rule catalogue, the feedback report): one line, its pipes escaped, since
 * a line break or a pipe (FHIRPath's union operator is one) would break the table.
 * @param text - any text.
 * @returns the cell's text.
 */
export function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\s+/g, ' ');
}
