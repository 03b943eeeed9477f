// Types of bench/chart.mjs, for the tests that import it (test/bench-charts.test.ts).

export interface BarRow {
  label: string;
  /** The bar (a median); null or absent: no bar, only the note. */
  value?: number | null;
  /** The whisker: fastest to slowest run. */
  min?: number;
  max?: number;
  /** daemonkit's own rows: blue, bold. */
  highlight?: boolean;
  /** Printed after the value. */
  note?: string;
}

export interface BarSection {
  title: string | null;
  rows: BarRow[];
}

export interface BarChartSpec {
  title: string;
  subtitle?: string[];
  unit?: string;
  sections?: BarSection[];
  rows?: BarRow[];
  footnote?: string[];
  format?: (value: number) => string;
}

export function escapeXml(text: unknown): string;
export function textWidth(text: unknown, size: number): number;
export function formatValue(value: number): string;
export function ticks(max: number, most?: number): number[];
export function barChart(spec: BarChartSpec): string;
