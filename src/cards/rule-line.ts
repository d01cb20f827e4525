/**
 * The last line of every rule card's detail names the rule and pack that made it. Written here and read here, so a
 * card in the audit log can be traced back to its rule (the feedback report does) without a second record.
 */

/** What the line names. */
export interface CardOrigin {
  readonly rule: string;
  readonly version: string;
  readonly pack: string;
  readonly packVersion: string;
}

const LINE = /\n?\*Rule (\S+) (\S+), rule pack (\S+) (\S+)\.\*\s*$/;

/**
 * The line for a card's detail.
 * @param origin - the rule and pack, each with its version.
 * @returns the line, in markdown italics.
 */
export function ruleLine(origin: CardOrigin): string {
  return `*Rule ${origin.rule} ${origin.version}, rule pack ${origin.pack} ${origin.packVersion}.*`;
}

/**
 * The rule and pack a card's detail names on its last line.
 * @param detail - the card's detail.
 * @returns them, or undefined for a card no rule made (the service's own).
 */
export function cardOrigin(detail: string | undefined): CardOrigin | undefined {
  const match = LINE.exec(detail ?? '');
  return match ? { rule: match[1] ?? '', version: match[2] ?? '', pack: match[3] ?? '', packVersion: match[4] ?? '' } : undefined;
}
