/** Number formatting and a slope, for the bench's report. */

/** A number with thousands separators and `d` decimals. */
export const f = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** Least-squares slope of (minutes, MB) samples, in MB per minute. */
export function trend(points: readonly [number, number][]): number {
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const mx = mean(points.map((p) => p[0]));
  const my = mean(points.map((p) => p[1]));
  return points.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0) / Math.max(1e-9, points.reduce((a, p) => a + (p[0] - mx) ** 2, 0));
}
